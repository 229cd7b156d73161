"""The embedded default data: colour photographs that ship inside scikit-image.

They let ``SRDataModule()`` with no folder train and validate out of the box, offline: every image below is
stored in the scikit-image wheel itself, so nothing is downloaded. ``cat`` is left out (it is ``chelsea``
mirrored, which would leak the validation image into training), and so is every image that scikit-image fetches
from the network.

The split is fixed by name: :data:`DEFAULT_VAL_NAMES` (``chelsea`` and ``coffee``) validate, the other seven
(:data:`DEFAULT_TRAIN_NAMES`) train.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from skimage import data
from torch import Tensor

from sr_lightning.data.io import ImageReadError

__all__ = ["DEFAULT_TRAIN_NAMES", "DEFAULT_VAL_NAMES", "SAMPLE_NAMES", "load_sample", "sample_size"]

_LOADERS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "colorwheel": data.colorwheel,
    "hubble_deep_field": data.hubble_deep_field,
    "immunohistochemistry": data.immunohistochemistry,
    "motorcycle": lambda: data.stereo_motorcycle()[0],  # the left view of the stereo pair
    "retina": data.retina,
    "rocket": data.rocket,
}

SAMPLE_NAMES: tuple[str, ...] = tuple(sorted(_LOADERS))
"""Every embedded sample, sorted by name."""

DEFAULT_VAL_NAMES: tuple[str, ...] = ("chelsea", "coffee")
"""The embedded samples used for validation when no data folder is given."""

DEFAULT_TRAIN_NAMES: tuple[str, ...] = tuple(name for name in SAMPLE_NAMES if name not in DEFAULT_VAL_NAMES)
"""The embedded samples used for training when no data folder is given."""


def _check_name(name: str) -> None:
    if name not in _LOADERS:
        raise ValueError(f"Unknown embedded sample {name!r}; the samples are {', '.join(SAMPLE_NAMES)}.")


def load_sample(name: str) -> Tensor:
    """Load an embedded scikit-image photograph as an 8-bit RGB tensor.

    Args:
        name: one of :data:`SAMPLE_NAMES`.

    Returns:
        A ``torch.uint8`` tensor of shape (3, H, W).

    Raises:
        ValueError: if ``name`` is not an embedded sample.
        ImageReadError: if scikit-image cannot load it (a broken installation).

    Example:
        >>> img = load_sample("chelsea")
        >>> img.shape, img.dtype
        (torch.Size([3, 300, 451]), torch.uint8)
    """
    _check_name(name)
    try:
        array = np.asarray(_LOADERS[name]())
    except Exception as error:
        raise ImageReadError(
            f"scikit-image could not load its embedded sample {name!r}: {type(error).__name__}: {error}. "
            "Reinstall scikit-image, or pass a data folder instead of the embedded samples."
        ) from error
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageReadError(
            f"Embedded sample {name!r} is {array.dtype} of shape {array.shape}, expected uint8 (H, W, 3)."
        )
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), order="C"))  # a writable copy


@cache
def sample_size(name: str) -> tuple[int, int]:
    """The (height, width) of an embedded sample (loaded once, then remembered).

    Example:
        >>> sample_size("coffee")
        (400, 600)
    """
    _, height, width = load_sample(name).shape
    return height, width
