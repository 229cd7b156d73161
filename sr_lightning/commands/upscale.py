"""``sr-lightning upscale``: upscale image files and folders with a trained checkpoint or a pretrained model.

    sr-lightning upscale --model edsr-t91-x4 photo.jpg -o upscaled/        # a pretrained model, no training
    sr-lightning upscale --ckpt runs/edsr/version_0/checkpoints/last.ckpt photos/ scan.tif -o upscaled/
    sr-lightning upscale --ckpt msa.ckpt image.png -o out/ --scale 4 --self-ensemble --tile 128

The arguments become one call of :func:`~sr_lightning.inference.upscale_files`, which Python code can call as well.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sr_lightning import pretrained
from sr_lightning.data.io import ImageReadError
from sr_lightning.inference import upscale_files

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sr-lightning upscale",
        description="Upscale images (files or folders, any mode) with a checkpoint's generator, in tiles, into "
        "OUTDIR as <name>_x<scale>.png (folders mirrored). Gray stays gray, alpha is upscaled by bicubic, "
        "16-bit images come out 8-bit.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders of images")
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--ckpt", type=Path, help="a checkpoint of `sr-lightning fit`")
    weights.add_argument("--model", help=f"a pretrained model: {', '.join(pretrained.available()) or 'none installed'}")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="the output folder")
    parser.add_argument("--scale", type=int, help="the factor (default: the checkpoint's; multi-scale models)")
    parser.add_argument("--tile", type=int, default=256, help="tile side in LR pixels; 0 upscales whole images")
    parser.add_argument("--overlap", type=int, default=16, help="blended context pixels around each tile")
    parser.add_argument("--self-ensemble", action="store_true", help="average the 8 flips/rotations (EDSR+, 8x time)")
    parser.add_argument("--no-ema", action="store_true", help="use the trained weights even when an EMA exists")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    parser.add_argument("--skip-errors", action="store_true", help="warn about unreadable images and go on")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no list of the files written")
    return parser


def main(argv: Sequence[str] | None = None) -> list[Path]:
    """Run the command with ``argv`` (the arguments after ``upscale``); returns the files written.

    Raises:
        SystemExit: with the reason for a missing or invalid checkpoint or input, another scale than the
            checkpoint's, an unreadable image or bad options.
    """
    args = _parser().parse_args(argv)
    if args.tile < 0 or args.overlap < 0:
        raise SystemExit(f"sr-lightning upscale: --tile ({args.tile}) and --overlap ({args.overlap}) must be >= 0.")
    try:
        written = upscale_files(
            args.ckpt if args.model is None else pretrained.load(args.model),
            args.inputs,
            args.output,
            scale=args.scale,
            tile=args.tile or None,
            overlap=args.overlap,
            self_ensemble=args.self_ensemble,
            use_ema=not args.no_ema,
            device=args.device,
            progress=not args.quiet,
            skip_errors=args.skip_errors,
        )
    except (FileNotFoundError, PermissionError, ValueError, ImageReadError) as error:
        raise SystemExit(f"sr-lightning upscale: error: {error}") from error
    if not args.quiet:
        for path in written:
            print(path)
    print(f"Wrote {len(written)} image(s) to {args.output.resolve()}", flush=True)
    if written.skipped:
        listing = "".join(f"\n  {path}: {reason}" for path, reason in written.skipped)
        print(f"Skipped {len(written.skipped)} unreadable image(s):{listing}", flush=True)
    return written
