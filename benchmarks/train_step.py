"""What the Lightning layer costs per training step: ``SRModule`` in a ``Trainer`` against a plain PyTorch loop.

Both sides train the same EDSR on the same batch, already in memory, with Adam and the L1 loss at the same precision;
the plain loop does exactly what the module's step does (``zero_grad``, forward, L1, ``backward``, ``step``), with the
same speed options: ``channels_last`` (weights and input in channels-last layout) and ``compile`` (``torch.compile``
of the generator). Each variant is compared with its own plain loop, and each option with the default. The Trainer
runs without validation, checkpoints, logger, progress bar or model summary; the module still calls ``self.log`` on
every step, as in real training (the ``no self.log`` variant leaves that call out, to show its cost). Rounds
alternate plain/Lightning (ABBA) so that the drift of a shared machine falls on both::

    python benchmarks/train_step.py                                  # small: 4 x 32 EDSR, 48 px HR patches (~1 min)
    python benchmarks/train_step.py --blocks 16 --feats 64 --patch 96 --batch 16   # EDSR-baseline x4
    python benchmarks/train_step.py --variants default compile --device cuda --precision bf16-mixed

Columns: ``plain`` and ``Lightning`` ms per step: the median step of each round (Lightning: from the end of one batch
to the end of the next, so data fetch, hooks and logging count), then the median over rounds; ``Lightning/plain``:
the median of the per-round ratios, and its overhead against the 5 % target; ``best steps ratio``: the fastest
Lightning step over the fastest plain step, the least noisy figure on a busy machine; ``in-step``: the part between
``on_train_batch_start`` and ``on_train_batch_end``; ``fit setup``: the time ``Trainer.fit`` spends around the loop.
The warm-up steps (compilation included) are not timed. On a GPU, both sides synchronise after every step.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from sr_lightning.lit import SRModule
from sr_lightning.models import EDSR

VARIANTS: dict[str, dict[str, bool]] = {
    "default": {},
    "default, no self.log": {"silent": True},
    "channels_last": {"channels_last": True},
    "compile": {"compile_generator": True},
    "channels_last+compile": {"channels_last": True, "compile_generator": True},
}
TARGET = 0.05


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _SilentSRModule(SRModule):
    """SRModule without its ``self.log`` call: what logging the loss on every step costs."""

    def _log_loss(self, stage: str, total: Tensor, terms: dict[str, Tensor], batch_size: int) -> None:
        pass


class _SameBatch(Dataset):
    """``length`` times the same batch: the DataLoader (``batch_size=None``) hands it over without a copy."""

    def __init__(self, batch: dict[str, Tensor], length: int) -> None:
        self.batch, self.length = batch, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.batch


class _StepTimer(L.Callback):
    """Wall-clock marks at the start and end of every training batch."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.starts, self.ends = device, [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        _sync(self.device)
        self.starts.append(time.perf_counter())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        _sync(self.device)
        self.ends.append(time.perf_counter())


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16-mixed" else torch.float16)


def plain_loop(
    model: nn.Module, options: dict[str, Any], backend: str, precision: str, device: torch.device
) -> Callable[[dict[str, Tensor], int], list[float]]:
    """A training loop in plain PyTorch with the module's options; ``run(batch, steps)`` gives each step's seconds."""
    if options.get("channels_last"):
        model.to(memory_format=torch.channels_last)
    forward = torch.compile(model, backend=backend) if options.get("compile_generator") else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")

    channels_last = options.get("channels_last", False)

    def run(batch: dict[str, Tensor], steps: int) -> list[float]:
        times = []
        _sync(device)
        for _ in range(steps):
            start = time.perf_counter()
            lr = batch["lr"].contiguous(memory_format=torch.channels_last) if channels_last else batch["lr"]
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, precision):
                loss = nn.functional.l1_loss(forward(lr), batch["hr"])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            _sync(device)
            times.append(time.perf_counter() - start)
        return times

    return run


def lightning_fit(
    module: SRModule, batch: dict[str, Tensor], warmup: int, steps: int, precision: str, device: torch.device
) -> tuple[list[float], list[float], float]:
    """One ``Trainer.fit`` of ``warmup + steps`` batches: the seconds of each timed step from the end of the batch
    before to its own end (the loop), its seconds from ``on_train_batch_start`` to ``on_train_batch_end`` (in-step),
    and the seconds ``fit`` spent outside the batches (setup and teardown)."""
    timer = _StepTimer(device)
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(
            default_root_dir=root,
            accelerator=device.type,
            devices=1,
            precision=precision,
            max_steps=warmup + steps,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            benchmark=device.type == "cuda",
            callbacks=[timer],
        )
        loader = DataLoader(_SameBatch(batch, warmup + steps), batch_size=None)
        start = time.perf_counter()
        trainer.fit(module, train_dataloaders=loader)
        wall = time.perf_counter() - start
    ends, starts = timer.ends, timer.starts
    loop = [ends[i] - ends[i - 1] for i in range(warmup, warmup + steps)]
    in_step = [ends[i] - starts[i] for i in range(warmup, warmup + steps)]
    return loop, in_step, wall - (ends[-1] - starts[0])


def _alternating(rounds: int) -> Iterator[tuple[int, tuple[str, str]]]:
    """ABBA order: plain first in even rounds, Lightning first in odd ones."""
    for r in range(rounds):
        yield r, ("plain", "lightning") if r % 2 == 0 else ("lightning", "plain")


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each variant, plain and in Lightning, over ``args.rounds`` alternating rounds: medians and best steps."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    patch = args.patch // args.scale
    batch = {
        "lr": torch.rand(args.batch, 3, patch, patch, device=device),
        "hr": torch.rand(args.batch, 3, patch * args.scale, patch * args.scale, device=device),
    }
    reference = EDSR(scale=args.scale, n_resblocks=args.blocks, n_feats=args.feats)
    runs = {}
    for name in args.variants:
        options = dict(VARIANTS[name])
        module_class = _SilentSRModule if options.pop("silent", False) else SRModule
        plain = plain_loop(copy.deepcopy(reference).to(device), options, args.compile_backend, args.precision, device)
        module = module_class(copy.deepcopy(reference), compile_backend=args.compile_backend, **options)
        runs[name] = (plain, module, {key: [] for key in ("plain", "lightning", "in_step", "setup")})
    for _, order in _alternating(args.rounds):
        for plain, module, times in runs.values():
            for side in order:
                if side == "plain":
                    plain(batch, args.warmup)
                    times["plain"].append(plain(batch, args.steps))
                else:
                    loop, in_step, setup = lightning_fit(module, batch, args.warmup, args.steps, args.precision, device)
                    times["lightning"].append(loop)
                    times["in_step"].append(in_step)
                    times["setup"].append(setup)
    return [_row(name, times, args) for name, (_, _, times) in runs.items()]


def _row(name: str, times: dict[str, list], args: argparse.Namespace) -> dict[str, Any]:
    """Per round the median step; over rounds the median (the ratio: of the per-round ratios); the best steps."""
    plain = [statistics.median(steps) for steps in times["plain"]]
    lightning = [statistics.median(steps) for steps in times["lightning"]]
    ratio = statistics.median(b / a for a, b in zip(plain, lightning, strict=True))
    best = min(min(steps) for steps in times["lightning"]) / min(min(steps) for steps in times["plain"])
    return {
        "variant": name,
        "plain_ms": statistics.median(plain) * 1e3,
        "lightning_ms": statistics.median(lightning) * 1e3,
        "in_step_ms": statistics.median(statistics.median(steps) for steps in times["in_step"]) * 1e3,
        "ratio": ratio,
        "overhead": ratio - 1,
        "best_ratio": best,
        "meets_target": ratio - 1 <= TARGET,
        "setup_ms": statistics.median(times["setup"]) * 1e3,
    }


def format_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    first = rows[0]
    lines = [
        f"| Variant | Plain ms/step | Lightning ms/step | Lightning - plain ms | Lightning/plain | Overhead | <= 5 % "
        f"| Best steps ratio | Plain speed vs {first['variant']} | In-step ms | fit setup ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['plain_ms']:.2f} | {row['lightning_ms']:.2f} "
            f"| {row['lightning_ms'] - row['plain_ms']:+.2f} | {row['ratio']:.3f} | {100 * row['overhead']:+.1f} % "
            f"| {'yes' if row['meets_target'] else 'no'} | {row['best_ratio']:.3f} "
            f"| {first['plain_ms'] / row['plain_ms']:.2f}x | {row['in_step_ms']:.2f} | {row['setup_ms']:.0f} |"
        )
    lines.append(
        f"\nEDSR x{args.scale}, {args.blocks} blocks x {args.feats} features; batch {args.batch} of "
        f"{args.patch // args.scale} px LR / {args.patch} px HR patches; precision {args.precision}; {args.device}, "
        f"{torch.get_num_threads()} threads; compile backend {args.compile_backend}; {args.rounds} alternating "
        f"rounds of {args.steps} timed steps after {args.warmup} warm-up steps; torch {torch.__version__}, "
        f"lightning {L.__version__}."
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=4, help="EDSR residual blocks (EDSR-baseline: 16)")
    parser.add_argument("--feats", type=int, default=32, help="EDSR features (EDSR-baseline: 64)")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    parser.add_argument("--patch", type=int, default=48, help="HR patch side, a multiple of the scale (default 48)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before each round's timed steps")
    parser.add_argument("--rounds", type=int, default=5, help="alternating plain/Lightning rounds per variant")
    parser.add_argument("--precision", default="32", choices=("32", "bf16-mixed", "16-mixed"))
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="default: all, in this order"
    )
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend (default inductor)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.patch % args.scale:
        parser.error(f"--patch {args.patch} is not a multiple of --scale {args.scale}; use e.g. {48 * args.scale}.")
    if args.precision == "16-mixed" and not args.device.startswith("cuda"):
        parser.error("--precision 16-mixed (fp16 with a loss scaler) needs --device cuda; use bf16-mixed on a CPU.")
    if args.warmup < 1:
        parser.error(f"--warmup must be at least 1 (the first step allocates the optimizer state), got {args.warmup}.")
    return args


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    lightning_log = logging.getLogger("lightning.pytorch")
    level, cudnn_benchmark = lightning_log.level, torch.backends.cudnn.benchmark
    lightning_log.setLevel(logging.ERROR)
    torch.backends.cudnn.benchmark = True  # both sides pick their fastest convolutions (the Trainer: benchmark=True)
    try:  # leave the caller's process (a test session) as it was
        with warnings.catch_warnings(), torch.random.fork_rng():
            warnings.simplefilter("ignore")
            rows = measure(args)
    finally:
        lightning_log.setLevel(level)
        torch.backends.cudnn.benchmark = cudnn_benchmark
    print(format_table(rows, args))
    return rows


if __name__ == "__main__":
    main()
