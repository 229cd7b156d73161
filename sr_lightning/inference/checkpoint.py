"""Rebuilding a trained generator from a library checkpoint, safely (``weights_only=True``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sr_lightning.lit.base import load_generator_weights
from sr_lightning.lit.checkpoint_io import CheckpointReadError, describe_unreadable

__all__ = ["check_finite_weights", "generator_config", "load_generator", "read_checkpoint"]


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
    """The generator's ``{"class_path", "init_args"}`` that ``sr-lightning fit`` saved in the hyperparameters.

    Raises:
        ValueError: the checkpoint was written outside LightningCLI (its hyperparameters hold no generator
            config); pass the generator to :func:`load_generator` instead.
    """
    config = (checkpoint.get("hyper_parameters") or {}).get("generator")
    if not isinstance(config, dict) or "class_path" not in config:
        raise ValueError(
            f"{path} does not say which generator it holds (it was not written by `sr-lightning fit`, whose "
            "hyperparameters carry the generator's class_path and init_args). Build the generator yourself and "
            "pass it: load_generator(path, generator=EDSR(scale=4, ...))."
        )
    return config


def _instantiate(config: dict[str, Any], path: str | Path) -> nn.Module:
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--generator", type=nn.Module)
    try:
        parsed = parser.parse_object({"generator": config})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jsonargparse renamed instantiate_classes
            instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
            return instantiate(parsed).generator
    except Exception as error:
        raise ValueError(f"cannot build the generator {config.get('class_path')} saved in {path}: {error}") from error


def check_finite_weights(network: nn.Module, source: str | Path) -> None:
    """Refuse a network whose weights hold NaN or infinity: it would only write black or NaN images.

    Raises:
        ValueError: naming ``source`` (the file the weights came from) and the first non-finite tensors.
    """
    state = network.state_dict()
    bad = [key for key, value in state.items() if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        raise ValueError(
            f"the weights in {source} are not finite (NaN or inf in {len(bad)} of {len(state)} tensors: "
            f"{', '.join(bad[:4])}{', ...' if len(bad) > 4 else ''}): the training diverged before this file was "
            "written. Use an earlier checkpoint."
        )


def _ema_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("ema.module."): v for k, v in state.items() if k.startswith("ema.module.")}


def load_generator(
    path: str | Path, generator: nn.Module | None = None, use_ema: bool = True, scale: int | None = None
) -> nn.Module:
    """The trained generator of a checkpoint, in eval mode on the CPU.

    The architecture comes from the checkpoint's hyperparameters (``sr-lightning fit`` saves the generator's
    ``class_path`` and ``init_args``) or from ``generator``. The weights are the EMA's when the checkpoint has an
    EMA and ``use_ema`` (they are what validation used), else the trained ones.

    Args:
        path: a checkpoint of :class:`~sr_lightning.lit.SRModule` or :class:`~sr_lightning.lit.SRGANModule`.
        generator: a network of the right architecture to load the weights into (for checkpoints written
            outside the CLI).
        use_ema: prefer the EMA weights when present.
        scale: the upscaling factor wanted; a multi-scale generator (``scales``) switches to it, any other must
            already have it.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a checkpoint, names no generator, its weights do not fit the architecture or
            are not finite, or the generator cannot upscale by ``scale``; each message names the file.
    """
    checkpoint = read_checkpoint(path)
    if generator is None:
        generator = _instantiate(generator_config(checkpoint, path), path)
    state = checkpoint["state_dict"]
    ema = _ema_state(state) if use_ema else {}
    weights = ema or {k: v for k, v in state.items() if k.startswith("generator.")} or state
    load_generator_weights(generator, path, state_dict={k.removeprefix("generator."): v for k, v in weights.items()})
    check_finite_weights(generator, path)
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
