"""Deprecated: ``FIDKIDMetrics`` moved to :mod:`sr_lightning.callbacks.fid_kid`; this module re-exports it for one
release."""

from __future__ import annotations

import warnings

from sr_lightning.callbacks.fid_kid import FIDKIDMetrics, cut_patches

__all__ = ["FIDKIDMetrics", "cut_patches"]

warnings.warn(
    "sr_lightning.callbacks.distribution is deprecated and will be removed in the next release; import FIDKIDMetrics "
    "from sr_lightning.callbacks (or sr_lightning.callbacks.fid_kid) instead.",
    DeprecationWarning,
    stacklevel=2,
)
