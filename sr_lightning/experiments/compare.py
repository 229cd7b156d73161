"""``sr-lightning compare``: a table and validation curves of several runs, CSV and W&B alike.

    sr-lightning compare runs/quickstart/version_0 runs/wandb/offline-run-20250101_120000-abcd1234 \\
        my-team/sr-lightning/abcd1234 -o compare

prints a markdown table (model, parameters, scale, best and last ``val/psnr_y`` and ``val/ssim_y``, LPIPS and FID
where logged, steps, wall time) and writes it as ``runs.md`` and ``runs.csv`` with one PNG per metric, all runs on
shared axes.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sr_lightning.experiments.plots import XAxis, write_plots
from sr_lightning.experiments.records import RunRecord
from sr_lightning.experiments.runs import load_runs

__all__ = [
    "ComparisonRow",
    "compare_runs",
    "default_metrics",
    "format_markdown",
    "higher_is_better",
    "main",
    "write_csv",
]

MAIN_METRICS = ("val/psnr_y", "val/ssim_y")
PERCEPTUAL_PREFIXES = ("val/lpips", "val/fid")


def higher_is_better(metric: str) -> bool:
    """PSNR and SSIM go up, losses, LPIPS, FID and KID go down.

    >>> higher_is_better("val/psnr_y"), higher_is_better("val/lpips_alex")
    (True, False)
    """
    name = metric.rsplit("/", 1)[-1]
    return name.startswith(("psnr", "ssim", "bicubic_psnr", "bicubic_ssim"))


def default_metrics(runs: Sequence[RunRecord]) -> list[str]:
    """``val/psnr_y``, ``val/ssim_y``, then every ``val/lpips*`` and ``val/fid*`` key some run logged."""
    logged = sorted({key for run in runs for key in run.curves})
    return [*MAIN_METRICS, *(key for key in logged if key.startswith(PERCEPTUAL_PREFIXES))]


@dataclass
class ComparisonRow:
    """One run in the table: ``best`` and ``last`` hold each metric's best (max or min, see
    :func:`higher_is_better`) and last logged value; metrics the run never logged are absent."""

    run: str
    source: str
    model: str | None
    params: int | None
    scale: int | None
    steps: int | None
    wall_time_s: float | None
    location: str
    best: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)


def compare_runs(runs: Sequence[RunRecord], metrics: Sequence[str] | None = None) -> list[ComparisonRow]:
    """One :class:`ComparisonRow` per run, for ``metrics`` (default: :func:`default_metrics`)."""
    metrics = default_metrics(runs) if metrics is None else metrics
    rows = []
    for run in runs:
        row = ComparisonRow(
            run=run.name,
            source=run.source,
            model=run.generator.rsplit(".", 1)[-1] if run.generator else None,
            params=run.params,
            scale=run.scale,
            steps=run.steps,
            wall_time_s=run.wall_time_s,
            location=run.location,
        )
        for metric in metrics:
            values = [point.value for point in run.curves.get(metric, [])]
            if values:
                row.best[metric] = max(values) if higher_is_better(metric) else min(values)
                row.last[metric] = values[-1]
        rows.append(row)
    return rows


def _label(metric: str) -> str:
    name = metric.removeprefix("val/")
    if name in ("psnr_y", "ssim_y"):
        return name.replace("_y", "-Y").upper()
    head, _, tail = name.partition("_")
    return f"{head.upper()} ({tail})" if tail else head.upper()


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if "ssim" in metric or "lpips" in metric or "kid" in metric else f"{value:.2f}"


def _params(count: int | None) -> str:
    if count is None:
        return "-"
    return f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.1f} k" if count >= 1e3 else str(count)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{seconds:.1f} s"


def _metrics_of(rows: Sequence[ComparisonRow]) -> list[str]:
    return list(dict.fromkeys([*MAIN_METRICS, *(key for row in rows for key in row.best)]))


def format_markdown(rows: Sequence[ComparisonRow], metrics: Sequence[str] | None = None) -> str:
    """A markdown table of ``rows``: best and last of each metric (best: max for PSNR/SSIM, min otherwise)."""
    metrics = _metrics_of(rows) if metrics is None else metrics
    columns = ["Run", "Source", "Model", "Params", "xS"]
    columns += [f"{_label(m)} {kind}" for m in metrics for kind in ("best", "last")] + ["Steps", "Wall time"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [row.run, row.source, row.model or "-", _params(row.params), f"x{row.scale}" if row.scale else "-"]
        cells += [_value(m, values.get(m)) for m in metrics for values in (row.best, row.last)]
        cells += ["-" if row.steps is None else str(row.steps), _duration(row.wall_time_s)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: Sequence[ComparisonRow], path: str | Path, metrics: Sequence[str] | None = None) -> Path:
    """Write ``rows`` as CSV at full precision: ``<metric> best`` and ``<metric> last`` columns, empty when a run
    did not log the metric."""
    metrics = _metrics_of(rows) if metrics is None else metrics
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fixed = ["run", "source", "model", "params", "scale", "steps", "wall_time_s", "location"]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*fixed, *(f"{m} {kind}" for m in metrics for kind in ("best", "last"))])
        for row in rows:
            values: list[Any] = [getattr(row, name) for name in fixed]
            values += [vals.get(m) for m in metrics for vals in (row.best, row.last)]
            writer.writerow(["" if value is None else value for value in values])
    return path


def compare_to_folder(
    run_paths: Sequence[str | Path],
    output: str | Path,
    metrics: Sequence[str] | None = None,
    x: XAxis = "step",
    api: Any = None,
) -> tuple[list[ComparisonRow], str, list[Path]]:
    """Load the runs, compare them and write ``runs.md``, ``runs.csv`` and one PNG per metric into ``output``.

    Returns the rows, the markdown table and the files written. ``api`` stands in for ``wandb.Api()`` (tests).

    Raises:
        FileNotFoundError, ValueError: a run cannot be found or read (the message names it).
        ConnectionError: W&B cannot be reached for a W&B run path.
    """
    runs = load_runs([str(path) for path in run_paths], api=api)
    metrics = list(metrics) if metrics else default_metrics(runs)
    rows = compare_runs(runs, metrics)
    table = format_markdown(rows, metrics)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "runs.md").write_text(table + "\n")
    written = [
        output / "runs.md",
        write_csv(rows, output / "runs.csv", metrics),
        *write_plots(runs, metrics, output, x=x),
    ]
    return rows, table, written


def main(argv: Sequence[str] | None = None, *, api: Any = None) -> list[ComparisonRow]:
    """Deprecated: ``sr-lightning compare`` is :func:`sr_lightning.commands.compare.main`."""
    import warnings

    from sr_lightning.commands.compare import main as command

    warnings.warn(
        "sr_lightning.experiments.compare.main is deprecated: use sr_lightning.commands.compare.main "
        "(or compare_to_folder from Python).",
        DeprecationWarning,
        stacklevel=2,
    )
    return command(argv, api=api)
