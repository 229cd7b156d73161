"""Tiled against untiled upscaling with EDSR-baseline x4: time, peak memory and how far the outputs differ.

Each variant runs :func:`sr_lightning.inference.upscale_tensor` (tiles blended on the CPU, ``inference_mode``) in a
fresh Python process, so that its peak memory is its own: on the CPU the peak resident set size (``VmHWM``, reset
after the model is loaded) minus the resident size before upscaling; on a GPU ``torch.cuda.max_memory_allocated``
as well. Variants alternate over ``--repeats`` rounds; times are medians, memory the largest peak. The input is a
synthetic RGB image (smooth gradients, edges and noise) and the network has seeded random weights unless
``--weights`` names a checkpoint: speed and memory do not depend on the weights::

    python benchmarks/inference.py                                  # 512x270 LR -> 2048x1080 (2K) output
    python benchmarks/inference.py --size 1024x540                  # -> 4096x2160 (4K)
    python benchmarks/inference.py --size 2048x1080 --no-untiled    # a 2K input -> 8K output, tiles only

The untiled pass of a 2K input needs about 20 GB (EDSR's x4 upsampler holds 256 channels at twice the input size,
then 64 at four times); ``--no-untiled`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from sr_lightning.inference import upscale_tensor
from sr_lightning.models import EDSR


def _memory_kib() -> tuple[int, int]:
    """(resident, peak resident) KiB of this process, from /proc/self/status."""
    status = Path("/proc/self/status").read_text()
    return tuple(int(re.search(rf"{key}:\s+(\d+)", status).group(1)) for key in ("VmRSS", "VmHWM"))


def _reset_peak() -> None:
    """Set VmHWM back to the current resident size (Linux ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def synthetic_image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A (1, 3, height, width) image in [0, 1]: colour gradients, sharp-edged squares and a little noise."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.linspace(0, 1, height)[:, None].expand(height, width)
    x = torch.linspace(0, 1, width)[None, :].expand(height, width)
    checks = ((torch.arange(height)[:, None] // 24 + torch.arange(width)[None, :] // 24) % 2).float()
    image = torch.stack([0.6 * x + 0.3 * checks, 0.5 * y + 0.2 * torch.sin(40 * x * y), 0.4 + 0.3 * checks * y])
    return (image + 0.05 * torch.randn(3, height, width, generator=generator)).clamp(0, 1)[None]


def run_variant(spec: dict[str, Any]) -> dict[str, Any]:
    """Upscale once as ``spec`` says and measure it; called in a fresh process by :func:`measure`."""
    device = torch.device(spec["device"])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = EDSR(scale=4, n_resblocks=spec["blocks"], n_feats=spec["feats"])
    if spec["weights"]:
        from sr_lightning.lit import load_generator_weights  # Lightning only when needed: workers start faster

        load_generator_weights(net, spec["weights"])
    net = net.eval().to(device)
    lr = synthetic_image(spec["height"], spec["width"])
    upscale_tensor(net, lr[..., :32, :32], tile=None)  # library and kernel start-up, not part of either variant
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    resident, _ = _memory_kib()
    _reset_peak()
    start = time.perf_counter()
    sr = upscale_tensor(net, lr, tile=spec["tile"], overlap=spec["overlap"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    _, peak = _memory_kib()
    if spec["output"]:
        torch.save(sr, spec["output"])
    return {
        "seconds": seconds,
        "peak_mib": (peak - resident) / 1024,
        "gpu_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "shape": list(sr.shape),
    }


def _spawn(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        killed = done.returncode in (-9, 137)
        reason = "killed, out of memory?" if killed else done.stderr.strip().splitlines()[-1:]
        raise RuntimeError(f"the {spec['name']} pass failed (exit {done.returncode}: {reason}); try a smaller --size.")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every variant ``args.repeats`` times, alternating, and compare each with the first."""
    width, height = args.size
    variants = ([] if args.no_untiled else [("untiled", None)]) + [(f"tile {t}", t) for t in args.tiles]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
    with tempfile.TemporaryDirectory() as folder:
        outputs = {name: str(Path(folder) / f"{i}.pt") for i, (name, _) in enumerate(variants)}
        for round_ in range(args.repeats):
            for name, tile in variants if round_ % 2 == 0 else variants[::-1]:
                spec = {
                    "name": name,
                    "tile": tile,
                    "overlap": args.overlap,
                    "width": width,
                    "height": height,
                    "blocks": args.blocks,
                    "feats": args.feats,
                    "weights": args.weights,
                    "device": args.device,
                    "output": outputs[name] if round_ == 0 else None,
                }
                results[name].append(_spawn(spec))
        reference = torch.load(outputs[variants[0][0]], weights_only=True)
        rows = []
        for name, _ in variants:
            runs = results[name]
            output = torch.load(outputs[name], weights_only=True)
            rows.append(
                {
                    "variant": name,
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "peak_mib": max(r["peak_mib"] for r in runs),
                    "gpu_peak_mib": max(r["gpu_peak_mib"] for r in runs) if runs[0]["gpu_peak_mib"] else None,
                    "max_abs_diff": (output - reference).abs().max().item(),
                    "output_range": (reference.min().item(), reference.max().item()),
                    "shape": runs[0]["shape"],
                }
            )
    for row in rows:
        row["time_ratio"] = ratio(row["seconds"], rows[0]["seconds"])
        row["memory_ratio"] = ratio(row["peak_mib"], rows[0]["peak_mib"])
        if row["gpu_peak_mib"] is not None:
            row["gpu_memory_ratio"] = ratio(row["gpu_peak_mib"], rows[0]["gpu_peak_mib"])
    return rows


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline``, or None when the baseline is not positive: a peak of 0 MiB means the pass reused memory
    the process already held (VmHWM did not rise above VmRSS), not that it used none, so no ratio can be told."""
    return value / baseline if baseline > 0 else None


def _ratio_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    gpu = rows[0]["gpu_peak_mib"] is not None
    first = rows[0]["variant"]
    header = f"| Variant | Seconds | Peak host MiB | {'Peak GPU MiB | ' if gpu else ''}Time / {first} "
    header += f"| Memory / {first} | {'GPU memory / ' + first + ' | ' if gpu else ''}Max abs diff vs {first} |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        cells = [row["variant"], f"{row['seconds']:.2f}", f"{row['peak_mib']:.0f}"]
        cells += [f"{row['gpu_peak_mib']:.0f}"] if gpu else []
        cells += [_ratio_cell(row["time_ratio"]), _ratio_cell(row["memory_ratio"])]
        cells += [_ratio_cell(row["gpu_memory_ratio"])] if gpu else []
        cells += [f"{row['max_abs_diff']:.2e}"]
        lines.append("| " + " | ".join(cells) + " |")
    (width, height), (_, _, out_h, out_w) = args.size, rows[0]["shape"]
    low, high = rows[0]["output_range"]
    weights = f"weights of {args.weights}" if args.weights else "seeded random weights"
    lines.append(
        f"\nEDSR x4, {args.blocks} blocks x {args.feats} features ({weights}); "
        f"{width}x{height} LR -> {out_w}x{out_h}; overlap {args.overlap} LR px; {args.device}, "
        f"{torch.get_num_threads()} threads; {args.repeats} alternating round(s), median time, largest peak; outputs "
        f"span [{low:.2f}, {high:.2f}]; torch {torch.__version__}. A ratio is '-' where the baseline's peak rose by "
        "0 MiB (it reused memory the process held), so no ratio can be told."
    )
    return "\n".join(lines)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 512x270.") from None
    return width, height


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=_size, default=(512, 270), help="LR input WIDTHxHEIGHT (default 512x270)")
    parser.add_argument("--tiles", type=int, nargs="+", default=[256, 128], help="tile sides in LR px")
    parser.add_argument("--overlap", type=int, default=16, help="context LR px on each side of a tile")
    parser.add_argument("--no-untiled", action="store_true", help="leave out the untiled pass (large inputs)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds of all variants (default 2)")
    parser.add_argument("--blocks", type=int, default=16, help="EDSR residual blocks (EDSR-baseline: 16)")
    parser.add_argument("--feats", type=int, default=64, help="EDSR features (EDSR-baseline: 64)")
    parser.add_argument("--weights", default=None, help="a checkpoint or state dict of EDSR x4 with these widths")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if min(args.tiles) < 1 or args.overlap < 0 or args.repeats < 1:
        parser.error(f"--tiles {args.tiles} must be positive, --overlap {args.overlap} >= 0, --repeats at least 1.")
    return args


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    rows = measure(args)
    print(format_table(rows, args))
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(run_variant(json.loads(sys.argv[2]))))
    else:
        main()
