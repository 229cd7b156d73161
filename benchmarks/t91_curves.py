"""PSNR-vs-time curves of the T91 recipe runs: Set5 PSNR-Y (EMA weights, as validated during training) against the
training wall time, one line per run, read from each run's ``metrics.csv`` (``ElapsedTime`` and ``val/psnr_y``)::

    python benchmarks/t91_curves.py x2=runs/t91_x2/version_0 x3=runs/t91_x3/version_0 x4=runs/t91_x4/version_0 \\
        --out docs/images/t91_psnr_vs_time.png

It prints each run's validations as a Markdown table (step, wall and CPU minutes, PSNR-Y) and writes the figure.
A warm-started run's curve starts at the wall time of the model it started from (``--offset x3=<minutes>``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from t91_ablation import curve, plot  # benchmarks/ is the script's own folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="NAME=RUN_FOLDER (the folder holding metrics.csv)")
    parser.add_argument("--offset", nargs="*", default=[], help="NAME=MINUTES spent before the run (warm starts)")
    parser.add_argument("--out", type=Path, default=Path("t91_psnr_vs_time.png"))
    args = parser.parse_args(argv)
    offsets = {name: float(minutes) for name, minutes in (item.split("=", 1) for item in args.offset)}
    curves = {}
    print("| run | step | wall time (min) | CPU time (min) | Set5 PSNR-Y (EMA) |\n|---|---|---|---|---|")
    for item in args.runs:
        name, folder = item.split("=", 1)
        metrics = Path(folder) / "metrics.csv"
        if not metrics.is_file():
            raise SystemExit(f"t91_curves: error: {metrics} does not exist (give NAME=RUN_FOLDER)")
        points = curve(Path(folder))
        if not points:
            raise SystemExit(f"t91_curves: error: {metrics} has no validation with time/elapsed_s (ElapsedTime)")
        shift = 60 * offsets.get(name, 0.0)
        curves[name] = [(elapsed + shift, psnr, step, cpu) for elapsed, psnr, step, cpu in points]
        for elapsed, psnr, step, cpu in points:
            print(f"| {name} | {step + 1} | {elapsed / 60:.1f} | {cpu / 60:.1f} | {psnr:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(
        curves,
        args.out,
        xlabel="training wall time (min, 2-core CPU; warm starts include the x2 run)",
        ylabel="Set5 PSNR-Y (dB, EMA weights)",
    )
    print(f"\nFigure: {args.out}")


if __name__ == "__main__":
    main()
