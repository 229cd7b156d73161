"""Reading what an evaluation step returned, shared by the metric and image callbacks."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch import Tensor

from sr_lightning.data.imresize import imresize


def module_scale(pl_module: L.LightningModule) -> int:
    """The upscaling factor of ``pl_module`` (its ``scale`` or its generator's), or a clear error."""
    scale = getattr(pl_module, "scale", None)
    if scale is None:
        scale = getattr(getattr(pl_module, "generator", None), "scale", None)
    if not isinstance(scale, int):
        raise AttributeError(
            f"{type(pl_module).__name__} has no integer `scale` (nor `generator.scale`); the SR callbacks need it."
        )
    return scale


def unpack_images(outputs: Any, hook: str) -> tuple[Tensor, Tensor, Tensor]:
    """``(lr, sr, hr)`` from a step's return value, with an error that says what the step must return."""
    if not isinstance(outputs, dict) or not {"lr", "sr", "hr"} <= outputs.keys():
        raise TypeError(
            f"{hook} needs the module's evaluation step to return a dict with 'lr', 'sr' and 'hr' tensors; "
            f"got {type(outputs).__name__}."
        )
    return outputs["lr"], outputs["sr"], outputs["hr"]


def bicubic_upscale(lr: Tensor, scale: int) -> Tensor:
    """The MATLAB-bicubic baseline for ``lr``, in [0, 1]."""
    return imresize(lr.float(), scale).clamp(0, 1)
