"""``sr-lightning compare``: a table and validation curves of several runs, CSV folders and W&B runs alike.

    sr-lightning compare runs/quickstart/version_0 my-team/sr-lightning/abcd1234 -o compare

The arguments become one call of :func:`~sr_lightning.experiments.compare_to_folder`, which Python code can call
as well.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sr_lightning.experiments.compare import ComparisonRow, compare_to_folder
from sr_lightning.experiments.runs import RUN_FORMS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sr-lightning compare",
        description="Compare training runs: a markdown/CSV table and validation curves on shared axes.",
        epilog=f"Each RUN is {RUN_FORMS}; a folder of run folders (runs/quickstart, runs/wandb) gives all of them.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, a folder of runs, or a W&B run path")
    parser.add_argument("-o", "--output", type=Path, default=Path("compare"), help="folder for runs.md, runs.csv, PNGs")
    parser.add_argument("--x", choices=["step", "epoch"], default="step", help="x axis of the curves")
    parser.add_argument("--metrics", nargs="+", help="val/* keys (default: psnr_y, ssim_y, LPIPS and FID logged)")
    return parser


def main(argv: Sequence[str] | None = None, *, api: Any = None) -> list[ComparisonRow]:
    """Run the command with ``argv`` (the arguments after ``compare``); returns the table's rows.

    ``api`` stands in for ``wandb.Api()`` for W&B run paths (tests).

    Raises:
        SystemExit: a run cannot be found or read, or W&B cannot be reached; the message names the run.
    """
    args = _parser().parse_args(argv)
    try:
        rows, table, written = compare_to_folder(args.runs, args.output, args.metrics, x=args.x, api=api)
    except (FileNotFoundError, ConnectionError, ValueError) as error:
        raise SystemExit(f"sr-lightning compare: {error}") from error
    print(table)
    print("\nFiles written:\n" + "\n".join(f"  {path.resolve()}" for path in written), flush=True)
    return rows
