"""``sr-lightning benchmark``: score checkpoints on benchmark sets and print a paper-style table.

    sr-lightning benchmark --ckpt runs/edsr/version_0/checkpoints/last.ckpt --data data/benchmarks \\
        --sets Set5 Set14 BSD100 Urban100 --scale 4 --self-ensemble
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from sr_lightning import pretrained
from sr_lightning.data.io import ImageReadError
from sr_lightning.data.paired import PairedImageDataset
from sr_lightning.evaluation.benchmark import (
    BenchmarkRow,
    LpipsNet,
    benchmark_sets,
    evaluate,
    format_markdown,
    write_csv,
)
from sr_lightning.inference.checkpoint import load_generator

__all__ = ["main", "run_benchmark"]


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


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
    device: str = "auto",
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
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        verbose: print each row as it is done.
        models: names of pretrained models (:func:`sr_lightning.pretrained.available`), scored after the
            checkpoints and named by their names.

    Returns:
        The rows, set by set: bicubic first, then the checkpoints in order.
    """
    paths = [Path(path) for path in checkpoints]
    model_names = [*_model_names(paths, names), *models]
    folders = benchmark_sets(data, sets)
    target = _resolve_device(device)
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
        rows = _run(args)
    except (FileNotFoundError, ValueError, ImageReadError) as error:
        raise SystemExit(f"sr-lightning benchmark: error: {error}") from error
    print(f"\nx{args.scale}, Y = BT.601, border = {args.scale}" + (", self-ensemble x8" if args.self_ensemble else ""))
    print(format_markdown(rows))
    csv_path = write_csv(rows, args.csv or Path(f"benchmark_x{args.scale}.csv"))
    print(f"\nCSV: {csv_path.resolve()}", flush=True)
    return rows


def _run(args: argparse.Namespace) -> list[BenchmarkRow]:
    return run_benchmark(
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
