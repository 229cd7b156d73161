"""Deprecated: ``sr-lightning benchmark`` is :mod:`sr_lightning.commands.benchmark` (its ``main``) and
:func:`sr_lightning.evaluation.run_benchmark`; this module only re-exports both for old imports."""

from __future__ import annotations

import warnings

from sr_lightning.commands.benchmark import main
from sr_lightning.evaluation.run import run_benchmark

__all__ = ["main", "run_benchmark"]

warnings.warn(
    "sr_lightning.evaluation.command is deprecated: import main from sr_lightning.commands.benchmark and "
    "run_benchmark from sr_lightning.evaluation.",
    DeprecationWarning,
    stacklevel=2,
)
