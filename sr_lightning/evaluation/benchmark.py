"""Scoring generators on benchmark sets with the paper protocol, next to a bicubic row."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from sr_lightning.data.imresize import imresize
from sr_lightning.data.layout import is_paired_folder
from sr_lightning.data.paired import PairedImageDataset
from sr_lightning.inference.upscale import upscale_tensor
from sr_lightning.metrics import functional

__all__ = ["BenchmarkRow", "benchmark_sets", "evaluate", "format_markdown", "write_csv"]

STANDARD_SETS = ("Set5", "Set14", "BSD100", "Urban100")
LpipsNet = Literal["alex", "vgg", "squeeze"]


@dataclass
class BenchmarkRow:
    """One model on one set: per-image means, Y channel (BT.601) and RGB, ``scale`` pixels of border cropped."""

    set: str
    model: str
    scale: int
    images: int
    psnr_y: float
    ssim_y: float
    psnr: float
    ssim: float
    lpips: float | None = None
    params_m: float | None = None


def benchmark_sets(root: str | Path, names: Sequence[str] | None = None) -> dict[str, Path]:
    """The benchmark folders to score: ``root/<name>`` for each name, or every standard set found in ``root``.

    ``root`` may also be one set's own folder (it has ``HR/``).

    Raises:
        FileNotFoundError: naming the missing folder, or the sets looked for when none is found.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"benchmark data folder {root} does not exist.")
    if names:
        sets = {name: root / name for name in names}
        missing = [str(path) for path in sets.values() if not path.is_dir()]
        if missing:
            raise FileNotFoundError(f"benchmark set folder(s) not found: {', '.join(missing)}.")
        return sets
    if is_paired_folder(root):
        return {root.name: root}
    sets = {name: root / name for name in STANDARD_SETS if (root / name).is_dir()}
    if not sets:
        raise FileNotFoundError(
            f"{root} holds none of {', '.join(STANDARD_SETS)} (each a folder with HR/ and LR_bicubic/X<s>/); "
            "name the sets with --sets."
        )
    return sets


@torch.inference_mode()
def evaluate(
    upscale: nn.Module | None,
    dataset: PairedImageDataset,
    *,
    set_name: str,
    model_name: str,
    lpips: nn.Module | None = None,
    tile: int | None = None,
    overlap: int = 16,
    ensemble: bool = False,
    device: torch.device | str = "cpu",
) -> BenchmarkRow:
    """Score the generator ``upscale`` (``None``: MATLAB bicubic) on every image of ``dataset``, upscaled by
    :func:`~sr_lightning.inference.upscale_tensor` (tiles on the generator's device, optional self-ensemble).

    Outputs are clamped to [0, 1] and quantized to 8 bits before scoring, as saved PNGs would be. ``lpips`` is a
    metric with ``update(sr, hr)``/``compute()`` (e.g. :class:`~sr_lightning.metrics.LPIPS`), scored on RGB.
    """
    scale = dataset.scale
    scores: dict[str, list[float]] = {"psnr_y": [], "ssim_y": [], "psnr": [], "ssim": []}
    if lpips is not None:
        lpips.reset()
    for index in range(len(dataset)):
        item = dataset[index]
        lr, hr = item["lr"][None].to(device), item["hr"][None].to(device)  # type: ignore[index]
        if upscale is None:
            sr = imresize(lr, scale)
        else:
            sr = upscale_tensor(upscale, lr, scale=scale, tile=tile, overlap=overlap, self_ensemble=ensemble).to(hr)
        sr = functional.quantize(sr.clamp(0, 1)).float() / 255
        for name in scores:
            metric = getattr(functional, name.removesuffix("_y"))
            scores[name].append(float(metric(sr, hr, border=scale, y_channel=name.endswith("_y"))))
        if lpips is not None:
            lpips.update(sr, hr)
    means = {name: sum(values) / len(values) for name, values in scores.items()}
    return BenchmarkRow(
        set=set_name,
        model=model_name,
        scale=scale,
        images=len(dataset),
        lpips=float(lpips.compute()) if lpips is not None else None,
        **means,
    )


def format_markdown(rows: Sequence[BenchmarkRow]) -> str:
    """A markdown table of ``rows``: set, model, PSNR/SSIM on Y and RGB, LPIPS (lower is better), parameters."""
    header = "| Set | Model | xS | Images | PSNR-Y | SSIM-Y | PSNR (RGB) | SSIM (RGB) | LPIPS | Params (M) |"
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lpips = "-" if row.lpips is None else f"{row.lpips:.4f}"
        params = "-" if row.params_m is None else f"{row.params_m:.2f}"
        lines.append(
            f"| {row.set} | {row.model} | x{row.scale} | {row.images} | {row.psnr_y:.2f} | {row.ssim_y:.4f} "
            f"| {row.psnr:.2f} | {row.ssim:.4f} | {lpips} | {params} |"
        )
    return "\n".join(lines)


def write_csv(rows: Sequence[BenchmarkRow], path: str | Path) -> Path:
    """Write ``rows`` as CSV (one column per :class:`BenchmarkRow` field, full precision)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=[f.name for f in fields(BenchmarkRow)])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    return path
