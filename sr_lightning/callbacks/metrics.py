"""Deprecated: ``SRMetrics`` moved to :mod:`sr_lightning.callbacks.psnr_ssim`; this module re-exports it for one
release."""

from __future__ import annotations

import warnings

from sr_lightning.callbacks.psnr_ssim import SRMetrics

__all__ = ["SRMetrics"]

warnings.warn(
    "sr_lightning.callbacks.metrics is deprecated and will be removed in the next release; import SRMetrics from "
    "sr_lightning.callbacks (or sr_lightning.callbacks.psnr_ssim) instead.",
    DeprecationWarning,
    stacklevel=2,
)
