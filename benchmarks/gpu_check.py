"""``make gpu-check``: everything that needs a CUDA GPU, in one run of a few minutes.

1. Every test marked ``gpu`` (16-mixed and bf16-mixed training with a real GradScaler, channels_last with an
   inductor-compiled generator, ``degrade_on_device`` on CUDA, metric states on the device), with
   ``SR_LIGHTNING_REQUIRE_GPU=1``: a GPU test that skips counts as a failure.
2. A throughput table for an EDSR-baseline x2 training step (16 blocks x 64 features, batch 16 of 96-pixel HR
   patches, L1, Adam) per precision (fp32, 16-mixed with a GradScaler, bf16-mixed) with channels_last off and on,
   as patches per second and as a ratio to fp32 without channels_last, measured in this run. Variants alternate
   over rounds (ABBA), so a GPU shared with other work slows them alike.

Exits with a non-zero status when there is no CUDA device or anything fails::

    make gpu-check                         # = python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --skip-tests --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from sr_lightning.models import EDSR

REPO = Path(__file__).resolve().parents[1]
PRECISIONS = {"fp32": None, "16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


def run_gpu_tests() -> int:
    """Run the tests marked ``gpu``; their exit status (0 only when every one ran and passed)."""
    env = {**os.environ, "SR_LIGHTNING_REQUIRE_GPU": "1"}
    command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rfEs", "tests"]
    print("$ SR_LIGHTNING_REQUIRE_GPU=1 " + " ".join(command[2:]), flush=True)
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def _step_time(dtype: torch.dtype | None, channels_last: bool, steps: int, batch: int, patch: int) -> float:
    """Median seconds per training step of EDSR-baseline x2 (after warm-up) at this precision and layout."""
    device = torch.device("cuda")
    torch.manual_seed(0)
    net = EDSR(scale=2).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=memory_format)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
    lr = torch.rand(batch, 3, patch // 2, patch // 2, device=device).contiguous(memory_format=memory_format)
    hr = torch.rand(batch, 3, patch, patch, device=device)
    loss_fn = nn.L1Loss()
    times = []
    for i in range(steps + 3):
        torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = loss_fn(net(lr).float(), hr)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        torch.cuda.synchronize()
        if i >= 3:  # cuDNN autotuning and allocator warm-up
            times.append(time.perf_counter() - start)
    if not torch.isfinite(loss):
        raise RuntimeError(f"EDSR step at {dtype} (channels_last={channels_last}) gave a non-finite loss {loss}.")
    return statistics.median(times)


def throughput(rounds: int, steps: int, batch: int, patch: int) -> str:
    """The markdown table of patches per second per precision and layout, with ratios to fp32/contiguous."""
    variants = [(name, cl) for name in PRECISIONS for cl in (False, True)]
    if not torch.cuda.is_bf16_supported():
        variants = [v for v in variants if v[0] != "bf16-mixed"]
    seconds: dict[tuple[str, bool], list[float]] = {v: [] for v in variants}
    for round_ in range(rounds):
        for variant in variants if round_ % 2 == 0 else variants[::-1]:
            seconds[variant].append(_step_time(PRECISIONS[variant[0]], variant[1], steps, batch, patch))
    base = statistics.median(seconds[("fp32", False)])
    lines = ["| precision | channels_last | ms / step | patches / s | vs fp32 |", "|---|---|---|---|---|"]
    for (name, cl), values in seconds.items():
        step = statistics.median(values)
        lines.append(
            f"| {name} | {'on' if cl else 'off'} | {step * 1e3:.1f} | {batch / step:.0f} | {base / step:.2f}x |"
        )
    lines.append(
        f"\nEDSR-baseline x2 (16 x 64), batch {batch}, HR patch {patch}, L1 + Adam; {torch.cuda.get_device_name()}, "
        f"torch {torch.__version__}; median of {steps} steps per round, {rounds} alternating rounds."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-tests", action="store_true", help="only the throughput table")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and round")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=96, help="HR patch side")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu-check: torch sees no CUDA device here; run it on a machine with an NVIDIA GPU.", file=sys.stderr)
        return 1
    status = 0 if args.skip_tests else run_gpu_tests()
    print(throughput(args.rounds, args.steps, args.batch, args.patch), flush=True)
    if status:
        print(f"gpu-check: the GPU tests FAILED (pytest exit status {status}).", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
