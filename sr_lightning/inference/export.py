"""``sr-lightning export``: a trained generator as safetensors (weights plus how to rebuild it) or ONNX.

    sr-lightning export --ckpt runs/edsr/version_0/checkpoints/last.ckpt --format safetensors -o edsr_x2.safetensors
    sr-lightning export --ckpt runs/edsr/version_0/checkpoints/last.ckpt --format onnx -o edsr_x2.onnx

Both take the EMA weights when the checkpoint has them (``--no-ema``: the trained ones). The ONNX graph has
dynamic batch, height and width and is checked against PyTorch with onnxruntime on an image of another size.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from torch import nn

from sr_lightning.inference.checkpoint import generator_config, load_generator, read_checkpoint
from sr_lightning.inference.onnx_export import check_image, check_onnx, export_onnx
from sr_lightning.weights import build_generator, check_finite_weights, load_weights, read_safetensors

__all__ = ["check_onnx", "export_onnx", "export_safetensors", "load_safetensors", "main"]

ExportFormat = Literal["safetensors", "onnx"]


def _class_path(generator: nn.Module) -> str:
    return f"{type(generator).__module__}.{type(generator).__qualname__}"


def export_safetensors(
    generator: nn.Module,
    path: str | Path,
    config: dict[str, Any] | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write the generator's state dict to a ``.safetensors`` file with what is needed to rebuild it.

    The metadata holds ``class_path``, ``scale`` and, given ``config`` (the ``{"class_path", "init_args"}`` of
    the checkpoint, :func:`~sr_lightning.inference.generator_config`), the ``generator`` config as JSON, which
    :func:`load_safetensors` builds the network from. ``extra`` adds string entries of your own (the pretrained
    models record their recipe, training figures and Set5 scores there).

    Raises:
        ValueError: ``config`` is not JSON serialisable.

    Example:
        >>> import tempfile
        >>> import torch
        >>> from sr_lightning.models import EDSR
        >>> net = EDSR(scale=2, n_resblocks=1, n_feats=8)
        >>> config = {"class_path": "sr_lightning.models.EDSR", "init_args": {"n_resblocks": 1, "n_feats": 8}}
        >>> path = export_safetensors(net, Path(tempfile.mkdtemp()) / "edsr.safetensors", config=config)
        >>> again = load_safetensors(path)
        >>> type(again).__name__, torch.equal(again.head.weight, net.head.weight)
        ('EDSR', True)
    """
    from safetensors.torch import save_file

    path = Path(path)
    metadata = {"format": "sr_lightning.generator", "class_path": _class_path(generator)}
    if getattr(generator, "scale", None) is not None:
        metadata["scale"] = str(int(generator.scale))
    if config is not None:
        try:
            metadata["generator"] = json.dumps(config)
        except TypeError as error:
            raise ValueError(f"the generator config for {path} is not JSON serialisable: {error}") from error
    metadata.update({key: str(value) for key, value in (extra or {}).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}, path, metadata=metadata)
    return path


def load_safetensors(path: str | Path, generator: nn.Module | None = None) -> nn.Module:
    """The generator of a file written by :func:`export_safetensors`, in eval mode on the CPU.

    Args:
        path: the ``.safetensors`` file.
        generator: a network to load the weights into; ``None`` builds it from the file's ``generator`` config.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not a safetensors file, names no generator config (pass ``generator``), or its weights
            do not fit the architecture or are not finite; each message names the file.
    """
    path = Path(path)
    state, metadata = read_safetensors(path)
    if generator is None:
        if "generator" not in metadata:
            raise ValueError(
                f"{path} does not say how to build its generator ({metadata.get('class_path', 'no class_path')}, "
                "exported without a config); pass it: load_safetensors(path, generator=EDSR(scale=4, ...))."
            )
        generator = build_generator(json.loads(metadata["generator"]), path)
    load_weights(generator, state, path)
    check_finite_weights(generator, path)
    scale = int(metadata.get("scale", 0))
    if scale and scale in tuple(getattr(generator, "scales", ())):
        generator.scale = scale  # a multi-scale model exported at another of its scales
    return generator.eval()


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
