"""A trained generator as safetensors (weights plus how to rebuild it), and back; ONNX is
:mod:`~sr_lightning.inference.onnx_export`. The ``sr-lightning export`` command is :mod:`sr_lightning.commands.export`.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

from torch import nn

from sr_lightning.filesystem import usual_file_mode
from sr_lightning.inference.onnx_export import check_onnx, export_onnx
from sr_lightning.weights import build_generator, check_finite_weights, load_weights, read_safetensors

__all__ = ["ExportFormat", "check_onnx", "export_onnx", "export_safetensors", "load_safetensors"]

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
    os.chmod(path, usual_file_mode())  # safetensors writes 0600; an exported model is meant to be shared
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


def __getattr__(name: str) -> Any:
    """``main`` (deprecated here): the command moved to :mod:`sr_lightning.commands.export`."""
    if name == "main":
        warnings.warn(
            "sr_lightning.inference.export.main is deprecated: import main from sr_lightning.commands.export.",
            DeprecationWarning,
            stacklevel=2,
        )
        from sr_lightning.commands.export import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
