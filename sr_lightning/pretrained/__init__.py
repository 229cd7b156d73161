"""Pretrained generators that ship inside the package: usable right after ``pip install``, offline, no training.

Each model is a ``<name>.safetensors`` file (the EMA weights, with the generator's class path and arguments in its
metadata, so no pickle is read) and a model card ``<name>.md`` (data, recipe, steps, wall time, hardware, Set5
scores), trained by the library's own recipes; ``docs/recipes.md`` gives the commands that re-create each file::

    >>> from sr_lightning import pretrained
    >>> names = pretrained.available()  # e.g. ['edsr-t91-x2', 'edsr-t91-x3', 'edsr-t91-x4']
    >>> all(pretrained.model_card(name).startswith("# ") for name in names)
    True

``pretrained.load(name)`` returns the generator in eval mode on the CPU; ``sr-lightning upscale --model <name>`` and
``sr-lightning benchmark --model <name>`` use it from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

__all__ = ["WEIGHTS_DIR", "available", "info", "load", "model_card", "weights_file"]

WEIGHTS_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """The names of the shipped models, sorted."""
    return sorted(path.stem for path in WEIGHTS_DIR.glob("*.safetensors"))


def weights_file(name: str) -> Path:
    """The ``.safetensors`` file of the model ``name``.

    Raises:
        ValueError: ``name`` is not a shipped model; the message lists the names.
    """
    path = WEIGHTS_DIR / f"{name}.safetensors"
    if not path.is_file():
        listing = ", ".join(available()) or "none in this installation"
        raise ValueError(f"no pretrained model named {name!r}; the pretrained models are: {listing}.")
    return path


def info(name: str) -> dict[str, Any]:
    """What the model's file records about it: ``scale``, the ``generator`` config, the ``recipe``, the training
    figures and the Set5 scores it reproduces (``set5_psnr_y``, ``set5_ssim_y``), as strings."""
    from sr_lightning.weights import read_safetensors

    return read_safetensors(weights_file(name))[1]


def model_card(name: str) -> str:
    """The model card (markdown): data, recipe, training time and hardware, Set5 scores next to published ones."""
    weights_file(name)
    return (WEIGHTS_DIR / f"{name}.md").read_text()


def load(name: str) -> nn.Module:
    """The pretrained generator ``name``, in eval mode on the CPU (read from safetensors: no code runs).

    Raises:
        ValueError: ``name`` is not a shipped model (the message lists them).
    """
    from sr_lightning.inference.export import load_safetensors

    return load_safetensors(weights_file(name))
