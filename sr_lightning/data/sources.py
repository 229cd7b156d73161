"""Image sources: where a dataset item's pixels come from, a file or an embedded sample.

A source is a small frozen (picklable) record with a ``name``, a ``location`` to put in messages, a cheap
``size()`` and a ``load()`` that returns the ``uint8`` (3, H, W) image. Datasets hold sources, never decoded
pixels (unless asked to cache), so they are cheap to build and to send to DataLoader workers. File and sample
sources also have a ``fingerprint()``, which the disk cache (:mod:`sr_lightning.data.cache`) is keyed on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import skimage
from torch import Tensor

from sr_lightning.data.embedded_photos import load_sample, sample_size
from sr_lightning.data.io import ImageReadError, image_size, read_image

__all__ = ["FileSource", "ImageSource", "SampleSource", "describe_sources", "split_by_name", "usable_sources"]


class ImageSource(Protocol):
    """What a dataset needs from an image: a name, where it is, its size and its pixels."""

    @property
    def name(self) -> str:
        """A short name, unique within a dataset (used in logs, file names and the validation split)."""
        ...

    @property
    def location(self) -> str:
        """Where the image comes from, for messages (the file path)."""
        ...

    def size(self, verify: bool = True) -> tuple[int, int]:
        """The (height, width), read cheaply; ``verify`` also checks the file's integrity."""
        ...

    def load(self) -> Tensor:
        """The ``uint8`` (3, H, W) RGB image."""
        ...


@dataclass(frozen=True)
class FileSource:
    """An image file.

    Args:
        path: the file.
        name: defaults to the file name without its extension.

    Example:
        >>> FileSource(Path("data/HR/0001.png")).name
        '0001'
    """

    path: Path
    name: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not self.name:
            object.__setattr__(self, "name", self.path.stem)

    @property
    def location(self) -> str:
        return str(self.path)

    def size(self, verify: bool = True) -> tuple[int, int]:
        return image_size(self.path, verify=verify)

    def load(self) -> Tensor:
        return read_image(self.path)

    def fingerprint(self) -> str:
        """What identifies the pixels for the disk cache: the resolved path, size and modification time.

        Raises:
            ImageReadError: if the file does not exist.
        """
        try:
            stat = self.path.stat()
        except OSError as error:
            raise ImageReadError(f"Cannot read image {self.path}: {error.strerror or error}.") from error
        return f"file {self.path.resolve()} {stat.st_size} {stat.st_mtime_ns}"


@dataclass(frozen=True)
class SampleSource:
    """An embedded scikit-image photograph (see :mod:`sr_lightning.data.embedded_photos`).

    Example:
        >>> SampleSource("coffee").size()
        (400, 600)
    """

    name: str

    def __post_init__(self) -> None:
        sample_size(self.name)  # fails early, naming the valid samples, for an unknown name

    @property
    def location(self) -> str:
        return f"embedded sample {self.name!r}"

    def size(self, verify: bool = True) -> tuple[int, int]:
        return sample_size(self.name)

    def load(self) -> Tensor:
        return load_sample(self.name)

    def fingerprint(self) -> str:
        """What identifies the pixels for the disk cache: the name and the scikit-image version."""
        return f"sample {self.name} scikit-image {skimage.__version__}"


def describe_sources(sources: Sequence[ImageSource], limit: int = 3) -> str:
    """A short description of some sources for error messages: the first few locations and a count.

    Example:
        >>> describe_sources([SampleSource("coffee"), SampleSource("rocket")])
        "embedded sample 'coffee', embedded sample 'rocket'"
    """
    shown = ", ".join(source.location for source in sources[:limit])
    more = len(sources) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def usable_sources(
    sources: Sequence[ImageSource],
    min_size: int = 1,
    skip_corrupt: bool = False,
    purpose: str = "the minimum size",
) -> list[tuple[ImageSource, tuple[int, int]]]:
    """Check each source's size and integrity, keeping those that can be used.

    Args:
        sources: the candidates.
        min_size: images whose height or width is smaller are skipped, with a warning naming each one.
        purpose: what ``min_size`` is, for the warning (``"the 96x96 training patch"``).
        skip_corrupt: skip unreadable files with a warning naming each one, instead of raising.

    Returns:
        The kept sources with their (height, width), in the given order. May be empty: the caller decides
        what that means and names its folder in the error.

    Raises:
        ImageReadError: for the first unreadable source, when ``skip_corrupt`` is False.
    """
    kept = []
    for source in sources:
        try:
            height, width = source.size(verify=True)
        except ImageReadError as error:
            if not skip_corrupt:
                raise
            warnings.warn(f"Skipping unreadable image {source.location}: {error}", stacklevel=3)
            continue
        if height < min_size or width < min_size:
            warnings.warn(
                f"Skipping {source.location}: its size {height}x{width} is smaller than {purpose} "
                f"({min_size}x{min_size}).",
                stacklevel=3,
            )
            continue
        kept.append((source, (height, width)))
    return kept


def split_by_name(
    sources: Sequence[ImageSource], val_fraction: float, origin: str = "the training images"
) -> tuple[list[ImageSource], list[ImageSource]]:
    """Split sources into training and validation deterministically, by name.

    The sources are sorted by (name, location); every ``k``-th one, starting with the first, is a validation
    image, with ``k = max(2, round(1 / val_fraction))``. So there is at least one image on each side, the split
    does not depend on the order the files were listed in, and the same folder always splits the same way.

    Raises:
        ValueError: if ``val_fraction`` is not in (0, 1), or there are fewer than two sources.

    Example:
        >>> sources = [FileSource(Path(f"{i:02d}.png")) for i in range(10)]
        >>> train, val = split_by_name(sources, val_fraction=0.25)
        >>> [s.name for s in val], len(train)
        (['00', '04', '08'], 7)
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}.")
    ordered = sorted(sources, key=lambda source: (source.name, source.location))
    if len(ordered) < 2:
        raise ValueError(
            f"Cannot split {origin} into training and validation images: it holds {len(ordered)} image(s). "
            "Add images, or give the validation images separately (val_dir)."
        )
    stride = max(2, round(1 / val_fraction))
    train = [source for i, source in enumerate(ordered) if i % stride]
    return train, ordered[::stride]
