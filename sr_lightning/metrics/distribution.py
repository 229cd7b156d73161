"""Deprecated: FID and KID moved to :mod:`sr_lightning.metrics.fid_kid`; this module re-exports them for one release."""

from __future__ import annotations

import warnings

from sr_lightning.metrics.fid_kid import *  # noqa: F403
from sr_lightning.metrics.fid_kid import __all__  # noqa: F401

warnings.warn(
    "sr_lightning.metrics.distribution is deprecated and will be removed in the next release; import from "
    "sr_lightning.metrics (or sr_lightning.metrics.fid_kid) instead.",
    DeprecationWarning,
    stacklevel=2,
)
