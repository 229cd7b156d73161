"""Deprecated: FID and KID moved to :mod:`sr_lightning.metrics.fid_kid`; this module re-exports them for one release."""

from __future__ import annotations

import warnings

from sr_lightning.metrics.fid_kid import (
    INCEPTION_WEIGHTS_URL,
    InceptionFeatures,
    fid_metric,
    frechet_inception_distance,
    inception_weights_file,
    kernel_inception_distance,
    kid_metric,
)

__all__ = [
    "INCEPTION_WEIGHTS_URL",
    "InceptionFeatures",
    "fid_metric",
    "frechet_inception_distance",
    "inception_weights_file",
    "kernel_inception_distance",
    "kid_metric",
]

warnings.warn(
    "sr_lightning.metrics.distribution is deprecated and will be removed in the next release; import from "
    "sr_lightning.metrics (or sr_lightning.metrics.fid_kid) instead.",
    DeprecationWarning,
    stacklevel=2,
)
