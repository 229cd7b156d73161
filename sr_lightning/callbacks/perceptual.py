"""Deprecated: the LPIPS callback moved to :mod:`sr_lightning.callbacks.lpips` as ``LPIPSMonitor``; this module
re-exports it (and its old name ``LPIPSMetric``) for one release."""

from __future__ import annotations

import warnings

from sr_lightning.callbacks.lpips import LPIPSMetric, LPIPSMonitor

__all__ = ["LPIPSMetric", "LPIPSMonitor"]

warnings.warn(
    "sr_lightning.callbacks.perceptual is deprecated and will be removed in the next release; import LPIPSMonitor "
    "from sr_lightning.callbacks (or sr_lightning.callbacks.lpips) instead.",
    DeprecationWarning,
    stacklevel=2,
)
