"""Deprecated: the embedded photographs are in :mod:`sr_lightning.data.embedded_photos` (also exported by
:mod:`sr_lightning.data`: ``load_sample``, ``SAMPLE_NAMES``...)."""

import warnings

from sr_lightning.data.embedded_photos import *  # noqa: F403
from sr_lightning.data.embedded_photos import __all__  # noqa: F401

warnings.warn(
    "sr_lightning.data.samples is deprecated: import from sr_lightning.data (or sr_lightning.data.embedded_photos).",
    DeprecationWarning,
    stacklevel=2,
)
