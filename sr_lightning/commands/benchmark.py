"""``sr-lightning benchmark``: score checkpoints on benchmark sets and print a paper-style table.

    sr-lightning benchmark --ckpt runs/edsr/version_0/checkpoints/last.ckpt --data data/benchmarks \\
        --sets Set5 Set14 BSD100 Urban100 --scale 4 --self-ensemble

The arguments become one call of :func:`~sr_lightning.evaluation.run_benchmark`; the table is
:func:`~sr_lightning.evaluation.format_markdown`'s and the CSV :func:`~sr_lightning.evaluation.write_csv`'s.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sr_lightning import pretrained
from sr_lightning.data.io import ImageReadError
from sr_lightning.evaluation import BenchmarkRow, format_markdown, run_benchmark, write_csv

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sr-lightning benchmark",
        description="Score checkpoints on benchmark sets (PSNR/SSIM on Y and RGB with border = scale, LPIPS) "
        "next to bicubic; print a markdown table and write a CSV.",
    )
    parser.add_argument("--ckpt", nargs="+", default=[], type=Path, help="checkpoints of `sr-lightning fit`")
    parser.add_argument(
        "--model", nargs="+", default=[], help=f"pretrained models: {', '.join(pretrained.available()) or 'none'}"
    )
    parser.add_argument("--data", required=True, type=Path, help="folder of benchmark sets, or one set's folder")
    parser.add_argument("--sets", nargs="+", help="set folders under --data (default: every standard set found)")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--names", nargs="+", help="a table name per checkpoint")
    parser.add_argument("--tile", type=int, default=256, help="tile side in LR pixels; 0 upscales whole images")
    parser.add_argument("--overlap", type=int, default=16, help="context pixels around each tile")
    parser.add_argument("--self-ensemble", action="store_true", help="average the 8 flips/rotations (EDSR+)")
    parser.add_argument(
        "--lpips", default="alex", choices=["alex", "vgg", "squeeze", "none"], help="LPIPS network, or none"
    )
    parser.add_argument("--no-ema", action="store_true", help="use the trained weights even when an EMA exists")
    parser.add_argument("--no-bicubic", action="store_true", help="leave out the bicubic rows")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--csv", type=Path, help="where to write the CSV (default: benchmark_x<scale>.csv)")
    return parser


def main(argv: Sequence[str] | None = None) -> list[BenchmarkRow]:
    """Run the command with ``argv`` (the arguments after ``benchmark``); returns the rows.

    Raises:
        SystemExit: with one line naming what is wrong: a missing or unreadable checkpoint or data folder, a
            checkpoint of another scale or with non-finite weights, an unreadable image, missing LPIPS weights.
    """
    args = _parser().parse_args(argv)
    if args.scale < 1:
        raise SystemExit(f"--scale must be >= 1, got {args.scale}.")
    try:
        rows = run_benchmark(
            args.ckpt,
            args.data,
            models=args.model,
            sets=args.sets,
            scale=args.scale,
            names=args.names,
            tile=args.tile or None,
            overlap=args.overlap,
            self_ensemble=args.self_ensemble,
            lpips=None if args.lpips == "none" else args.lpips,
            use_ema=not args.no_ema,
            bicubic=not args.no_bicubic,
            device=args.device,
            verbose=True,
        )
    except (FileNotFoundError, ValueError, ImageReadError) as error:
        raise SystemExit(f"sr-lightning benchmark: error: {error}") from error
    print(f"\nx{args.scale}, Y = BT.601, border = {args.scale}" + (", self-ensemble x8" if args.self_ensemble else ""))
    print(format_markdown(rows))
    csv_path = write_csv(rows, args.csv or Path(f"benchmark_x{args.scale}.csv"))
    print(f"\nCSV: {csv_path.resolve()}", flush=True)
    return rows
