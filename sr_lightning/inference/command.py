"""Deprecated: ``sr-lightning upscale`` is :mod:`sr_lightning.commands.upscale` (its ``main``) and
:func:`sr_lightning.inference.upscale_files`; this module only re-exports ``main`` for old imports."""

from __future__ import annotations

import warnings

from sr_lightning.commands.upscale import main

__all__ = ["main"]

warnings.warn(
    "sr_lightning.inference.command is deprecated: import main from sr_lightning.commands.upscale.",
    DeprecationWarning,
    stacklevel=2,
)
