"""Rebuilding a trained generator from a library checkpoint, safely (``weights_only=True``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from sr_lightning.weights import (
    CHECKPOINT_RECORD,
    CheckpointReadError,
    build_generator,
    check_finite_weights,
    describe_unreadable,
    generator_state,
    load_weights,
)

__all__ = ["check_finite_weights", "generator_config", "load_generator", "read_checkpoint", "recorded_scale"]


def read_checkpoint(path: str | Path, mmap: bool = False) -> dict[str, Any]:
    """The contents of a Lightning checkpoint, read with ``weights_only=True`` (no pickled code runs).

    Args:
        path: the ``.ckpt`` file.
        mmap: map the tensors from the file instead of reading them (fast: for looking at a checkpoint's metadata).

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointReadError: (a ``ValueError``) the file is not a Lightning checkpoint (empty, truncated, another
            format, a pickle with code, or a plain state dict without ``state_dict``); the message says which.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as error:
        raise CheckpointReadError(
            f"{path} is not a readable checkpoint: {describe_unreadable(path, error)}. Pass a .ckpt written by "
            "`sr-lightning fit` (or Lightning's Trainer)."
        ) from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointReadError(f"{path} is not a Lightning checkpoint: it has no 'state_dict' entry.")
    return checkpoint


def generator_config(checkpoint: dict[str, Any], path: str | Path = "checkpoint") -> dict[str, Any]:
    """The generator's ``{"class_path", "init_args"}`` a checkpoint records.

    Checkpoints of the library's modules record it whether they were trained from the CLI or from Python
    (``checkpoint["sr_lightning"]``, see :meth:`~sr_lightning.lit.SRBaseModule.generator_record`); checkpoints of
    earlier versions written by ``sr-lightning fit`` have it in their hyperparameters.

    Raises:
        ValueError: the checkpoint records no generator, or only its class (a generator of your own that records
            no arguments); pass the generator to :func:`load_generator` instead.
    """
    record = (checkpoint.get(CHECKPOINT_RECORD) or {}).get("generator")
    config = record or (checkpoint.get("hyper_parameters") or {}).get("generator")
    if not isinstance(config, dict) or "class_path" not in config:
        raise ValueError(
            f"{path} does not say which generator it holds (a checkpoint of an earlier version written outside "
            "`sr-lightning fit`, or of another module). Build the generator yourself and pass it: "
            "load_generator(path, generator=EDSR(scale=4, ...))."
        )
    if config.get("init_args") is None:
        raise ValueError(
            f"{path} records the generator class {config['class_path']} but not its arguments (a network of your "
            "own that does not inherit sr_lightning.models.RecordsSpec). Build it yourself and pass it: "
            "load_generator(path, generator=...)."
        )
    return config


def recorded_scale(checkpoint: dict[str, Any]) -> int | None:
    """The scale the run was at when the checkpoint was written (a progressive run's last stage), if recorded."""
    scale = (checkpoint.get(CHECKPOINT_RECORD) or {}).get("scale")
    return None if scale is None else int(scale)


def load_generator(
    path: str | Path, generator: nn.Module | None = None, use_ema: bool = True, scale: int | None = None
) -> nn.Module:
    """The trained generator of a checkpoint, in eval mode on the CPU.

    The architecture comes from the checkpoint's record (:func:`generator_config`) or from ``generator``; the scale
    is the one the run ended at (a progressive x2 -> x4 run gives its x4 model). The weights are the EMA's when the
    checkpoint has an EMA and ``use_ema`` (they are what validation used), else the trained ones.

    Args:
        path: a checkpoint of :class:`~sr_lightning.lit.SRModule` or :class:`~sr_lightning.lit.SRGANModule`.
        generator: a network of the right architecture to load the weights into (for checkpoints written
            outside the CLI).
        use_ema: prefer the EMA weights when present.
        scale: the upscaling factor wanted (default: the recorded one); a multi-scale generator (``scales``)
            switches to it, any other must already have it.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a checkpoint, names no generator, its weights do not fit the architecture or
            are not finite, or the generator cannot upscale by ``scale``; each message names the file.
    """
    checkpoint = read_checkpoint(path)
    if generator is None:
        generator = build_generator(generator_config(checkpoint, path), path)
    load_weights(generator, generator_state(checkpoint["state_dict"], use_ema=use_ema), path)
    check_finite_weights(generator, path)
    scale = recorded_scale(checkpoint) if scale is None else scale
    if scale is not None and scale != getattr(generator, "scale", None):
        scales = tuple(getattr(generator, "scales", ()))
        if scale not in scales:
            raise ValueError(
                f"{path} holds a x{getattr(generator, 'scale', '?')} {type(generator).__name__}"
                + (f" with tails for {scales}" if scales else "")
                + f"; it cannot upscale x{scale}."
            )
        generator.scale = scale
    return generator.eval()
