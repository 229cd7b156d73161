"""``sr-lightning export``: a trained generator as safetensors (weights plus how to rebuild it) or ONNX.

    sr-lightning export --ckpt runs/edsr/version_0/checkpoints/last.ckpt --format safetensors -o edsr_x2.safetensors
    sr-lightning export --ckpt runs/edsr/version_0/checkpoints/last.ckpt --format onnx -o edsr_x2.onnx

Both take the EMA weights when the checkpoint has them (``--no-ema``: the trained ones). The ONNX graph has
dynamic batch, height and width and is checked against PyTorch with onnxruntime on an image of another size.
The work is the library's: :func:`~sr_lightning.inference.load_generator`, then
:func:`~sr_lightning.inference.export_safetensors` or :func:`~sr_lightning.inference.export_onnx` and
:func:`~sr_lightning.inference.check_onnx`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sr_lightning.inference import (
    check_onnx,
    export_onnx,
    export_safetensors,
    generator_config,
    load_generator,
    read_checkpoint,
)
from sr_lightning.inference.export import ExportFormat
from sr_lightning.inference.onnx_export import check_image

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sr-lightning export",
        description="Export a checkpoint's generator (EMA weights when present) to safetensors or to ONNX with "
        "dynamic batch/height/width, checked against PyTorch with onnxruntime.",
    )
    parser.add_argument("--ckpt", required=True, type=Path, help="a checkpoint of `sr-lightning fit`")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="the file to write")
    parser.add_argument("--format", choices=["safetensors", "onnx"], help="default: from OUT's suffix")
    parser.add_argument("--scale", type=int, help="the factor (default: the checkpoint's; multi-scale models)")
    parser.add_argument("--no-ema", action="store_true", help="export the trained weights even when an EMA exists")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset version")
    parser.add_argument("--example-size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--atol", type=float, default=1e-4, help="largest onnxruntime vs PyTorch difference allowed")
    return parser


def _format(args: argparse.Namespace) -> ExportFormat:
    if args.format:
        return args.format
    suffix = args.output.suffix.lower()
    if suffix in (".safetensors", ".onnx"):
        return suffix[1:]  # type: ignore[return-value]
    raise SystemExit(f"sr-lightning export: error: give --format safetensors|onnx (OUT {args.output} says neither).")


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the command with ``argv`` (the arguments after ``export``); returns the file written.

    Raises:
        SystemExit: with the reason for a missing or invalid checkpoint, another scale than the checkpoint's,
            a missing ONNX dependency, or an onnxruntime output further than ``--atol`` from PyTorch's.
    """
    args = _parser().parse_args(argv)
    kind = _format(args)
    try:
        checkpoint = read_checkpoint(args.ckpt)
        config = generator_config(checkpoint, args.ckpt)
        generator = load_generator(args.ckpt, use_ema=not args.no_ema, scale=args.scale)
        ema = not args.no_ema and any(k.startswith("ema.module.") for k in checkpoint["state_dict"])
        what = f"{type(generator).__name__} x{generator.scale}, {'EMA' if ema else 'trained'} weights"
        if kind == "safetensors":
            path = export_safetensors(generator, args.output, config=config)
        else:
            size = tuple(args.example_size)
            path = export_onnx(generator, args.output, example_size=size, opset=args.opset, verify=False, config=config)
    except (FileNotFoundError, ValueError, ImportError, RuntimeError) as error:
        raise SystemExit(f"sr-lightning export: error: {error}") from error
    print(f"Wrote {path} ({kind}, {path.stat().st_size / 1e6:.2f} MB; {what})", flush=True)
    if kind == "onnx":
        image = check_image(tuple(args.example_size))
        try:
            difference = check_onnx(path, generator, image)
        except ImportError as error:
            raise SystemExit(f"sr-lightning export: error: {error}") from error
        print(
            f"onnxruntime vs PyTorch on a {'x'.join(map(str, image.shape))} image: max abs diff {difference:.2e} "
            f"(tolerance {args.atol:g})",
            flush=True,
        )
        if not difference <= args.atol:
            raise SystemExit(f"sr-lightning export: error: {path} differs from PyTorch by {difference:.2e}.")
    return path
