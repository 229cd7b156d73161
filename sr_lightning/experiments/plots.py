"""Validation curves of several runs on shared axes, one PNG per metric (matplotlib, Agg backend)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sr_lightning.experiments.records import RunRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["XAxis", "curve", "plot_metric", "write_plots"]

XAxis = Literal["step", "epoch"]


def curve(run: RunRecord, metric: str, x: XAxis = "step") -> tuple[list[float], list[float]]:
    """The ``(xs, values)`` of ``metric`` in ``run``, sorted by x; points without an epoch are left out for
    ``x="epoch"``.

    Raises:
        ValueError: for an unknown ``x``.

    >>> from sr_lightning.experiments import CurvePoint
    >>> run = RunRecord("a", "csv", "runs/a", curves={"val/psnr_y": [CurvePoint(9, 1, 30.5), CurvePoint(4, 0, 29.0)]})
    >>> curve(run, "val/psnr_y", x="epoch")
    ([0, 1], [29.0, 30.5])
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}.")
    points = [(getattr(p, x), p.value) for p in run.curves.get(metric, []) if getattr(p, x) is not None]
    points.sort(key=lambda point: point[0])
    return [px for px, _ in points], [value for _, value in points]


def plot_metric(runs: Sequence[RunRecord], metric: str, *, x: XAxis = "step") -> Figure:
    """A figure with one line per run that logged ``metric`` (labelled ``<name> (<source>)``), against Lightning's
    logging step or the epoch. The caller closes it (``matplotlib.pyplot.close(figure)``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for run in runs:
        xs, values = curve(run, metric, x)
        if xs:
            axes.plot(xs, values, marker="o", markersize=3, label=f"{run.name} ({run.source})")
    axes.set_xlabel("trainer step (Lightning logging step)" if x == "step" else "epoch")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} of {len(axes.lines)} run(s)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize="small")
    return figure


def write_plots(
    runs: Sequence[RunRecord], metrics: Sequence[str], folder: str | Path, *, x: XAxis = "step"
) -> list[Path]:
    """Write ``<folder>/<metric>.png`` (``val/psnr_y`` -> ``val_psnr_y.png``) for each metric some run logged.

    Returns:
        The PNG paths, in the order of ``metrics``.
    """
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in metrics:
        if not any(run.curves.get(metric) for run in runs):
            continue
        figure = plot_metric(runs, metric, x=x)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', metric)}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths
