"""Scoring generators on benchmark sets: :func:`run_benchmark`, what ``sr-lightning benchmark`` runs.

The per-set work (one generator on one set) is :func:`~sr_lightning.evaluation.evaluate`; this module loads the
checkpoints and pretrained models, picks the sets and the device, and gathers the rows of every pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from sr_lightning import pretrained
from sr_lightning.data.paired import PairedImageDataset
from sr_lightning.evaluation.benchmark import BenchmarkRow, LpipsNet, benchmark_sets, evaluate
from sr_lightning.inference.checkpoint import load_generator
from sr_lightning.inference.device import resolve_device

__all__ = ["run_benchmark"]


def _lpips_metric(net: LpipsNet | None, device: torch.device) -> torch.nn.Module | None:
    if net is None:
        return None
    from sr_lightning.metrics.lpips import LPIPS  # loads the pretrained LPIPS weights from the torch hub cache

    return LPIPS(net=net).to(device)


def _model_names(checkpoints: Sequence[Path], names: Sequence[str] | None) -> list[str]:
    if names:
        if len(names) != len(checkpoints):
            raise ValueError(f"--names gives {len(names)} names for {len(checkpoints)} checkpoints.")
        return list(names)
    stems = [path.stem for path in checkpoints]
    if len(set(stems)) == len(stems):
        return stems
    # last.ckpt of several runs: name them by their run folder as well.
    return [str(Path(*path.parts[-4:-2], path.stem)) if len(path.parts) >= 4 else str(path) for path in checkpoints]


def _pretrained(name: str, scale: int) -> torch.nn.Module:
    generator = pretrained.load(name)
    if generator.scale != scale:
        raise ValueError(f"the pretrained model {name} upscales x{generator.scale}, not x{scale}: give --scale.")
    return generator


def run_benchmark(
    checkpoints: Sequence[str | Path],
    data: str | Path,
    sets: Sequence[str] | None = None,
    scale: int = 4,
    names: Sequence[str] | None = None,
    tile: int | None = 256,
    overlap: int = 16,
    self_ensemble: bool = False,
    lpips: LpipsNet | None = "alex",
    use_ema: bool = True,
    bicubic: bool = True,
    device: str | torch.device | None = "auto",
    verbose: bool = False,
    models: Sequence[str] = (),
) -> list[BenchmarkRow]:
    """Score each checkpoint's generator (EMA weights when present) and each pretrained model on each set, plus a
    bicubic row per set.

    Args:
        checkpoints: checkpoints written by ``sr-lightning fit``.
        data: a folder of benchmark sets (``data/Set5/HR``...), or one set's folder.
        sets: the set folder names; ``None`` scores every standard set found (Set5, Set14, BSD100, Urban100).
        scale: the upscaling factor; the HR images are cropped to a multiple of it and ``scale`` pixels of border
            are left out of every score.
        names: a name per checkpoint for the table (default: the file names).
        tile: upscale in tiles of this many LR pixels (``None``: whole images).
        overlap: context pixels around each tile.
        self_ensemble: average over the 8 flips/rotations (EDSR+).
        lpips: the LPIPS network (pretrained weights from the torch hub cache), or ``None`` for no LPIPS.
        use_ema: use the EMA weights of checkpoints that have them.
        bicubic: add the bicubic row of each set.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``...
            (:func:`~sr_lightning.inference.resolve_device`).
        verbose: print each row as it is done.
        models: names of pretrained models (:func:`sr_lightning.pretrained.available`), scored after the
            checkpoints and named by their names.

    Returns:
        The rows, set by set: bicubic first, then the checkpoints in order.

    Raises:
        FileNotFoundError: a checkpoint or the data folder is missing, or a set holds no image pair.
        ValueError: ``names`` does not fit ``checkpoints``, a checkpoint or pretrained model is of another scale or
            has non-finite weights, or ``device`` is not available here.
        ImageReadError: an image of a set cannot be read.
    """
    paths = [Path(path) for path in checkpoints]
    model_names = [*_model_names(paths, names), *models]
    folders = benchmark_sets(data, sets)
    target = resolve_device(device)
    generators = [load_generator(path, use_ema=use_ema, scale=scale).to(target) for path in paths]
    generators += [_pretrained(name, scale).to(target) for name in models]
    lpips_metric = _lpips_metric(lpips, target)
    rows: list[BenchmarkRow] = []
    for set_name, folder in folders.items():
        dataset = PairedImageDataset(folder, scale=scale, for_metrics=True)
        candidates = [("Bicubic", None)] if bicubic else []
        for name, generator in [*candidates, *zip(model_names, generators, strict=True)]:
            row = evaluate(
                generator,
                dataset,
                set_name=set_name,
                model_name=name,
                lpips=lpips_metric,
                tile=tile,
                overlap=overlap,
                ensemble=self_ensemble,
                device=target,
            )
            if generator is not None:
                row.params_m = sum(p.numel() for p in generator.parameters()) / 1e6
            rows.append(row)
            if verbose:
                print(f"  {set_name:10} {name:30} PSNR-Y {row.psnr_y:.2f}  SSIM-Y {row.ssim_y:.4f}", flush=True)
    return rows
