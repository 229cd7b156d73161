"""The training dataset: random HR patches and their bicubic LR patches.

The LR patch is made the way the benchmarks make LR images (:func:`~sr_lightning.data.degradation.bicubic_lr`:
MATLAB bicubic, clamped, 8-bit). The ``scale`` lives in a one-element shared-memory tensor, so setting
``dataset.scale`` (progressive training goes x2 -> x4) reaches DataLoader workers that are already running,
persistent ones included. The whole-image evaluation dataset is in :mod:`sr_lightning.data.paired`.

Caching: without it, every draw decodes its image file (a 2K PNG: tens of milliseconds for one patch).
``cache="memory"`` decodes every image at construction and keeps it in this process (forked workers share it);
``cache="disk"`` decodes once into a memory-mapped file that later runs reuse (:mod:`sr_lightning.data.cache`).
Either way a draw then costs a crop and a resize, and draws are the same, bit for bit, as without a cache.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sr_lightning.data.cache import DiskImageCache
from sr_lightning.data.degradation import bicubic_lr
from sr_lightning.data.io import ImageReadError, to_float
from sr_lightning.data.sources import ImageSource, describe_sources, usable_sources
from sr_lightning.data.transforms import dihedral

__all__ = ["CACHE_MODES", "CacheMode", "TrainPatchDataset", "cache_mode", "decode_sources", "shared_int"]

CacheMode = Literal["none", "memory", "disk"]
CACHE_MODES: tuple[CacheMode, ...] = ("none", "memory", "disk")


def cache_mode(cache: CacheMode | bool) -> CacheMode:
    """Check a cache mode; ``True``/``False`` are the former spellings of ``"memory"``/``"none"``."""
    if isinstance(cache, bool):
        return "memory" if cache else "none"
    if cache not in CACHE_MODES:
        raise ValueError(f"cache must be one of {CACHE_MODES}, got {cache!r}.")
    return cache


def shared_int(value: int) -> Tensor:
    """A one-element int64 tensor in shared memory: forked or spawned workers see later writes."""
    return torch.tensor([value], dtype=torch.int64).share_memory_()


class TrainPatchDataset(Dataset[dict[str, Tensor]]):
    """Random HR patches and their bicubic LR patches, for training.

    Each draw takes a random ``patch_size`` square from one image, applies a random flip/90-degree rotation
    (when ``augment``) and makes its LR patch with :func:`~sr_lightning.data.degradation.bicubic_lr` (unless
    ``make_lr=False``: then items are ``{"hr"}`` alone and the LR patches are made per batch, on the accelerator,
    by :class:`~sr_lightning.data.datamodule.SRDataModule` with ``degrade_on_device=True``).
    Randomness comes only from the key: with :class:`~sr_lightning.data.samplers.SeededPatchSampler` the key
    is ``(index, draw_seed)``; a plain integer ``index`` uses ``draw_seed = seed + index``.

    Images are checked when the dataset is built, cheaply (header and Pillow ``verify()``): images smaller than
    the patch are skipped with a warning naming each one; unreadable ones raise, or are skipped with a warning
    when ``skip_corrupt``. Decoding errors found later (a truncated JPEG passes ``verify()``) raise
    :class:`~sr_lightning.data.io.ImageReadError` naming the file when the image is drawn.

    Args:
        sources: the training images.
        scale: the super-resolution factor; ``patch_size`` must be a multiple of it.
        patch_size: the HR patch side; the LR patch side is ``patch_size // scale``.
        repeat: how many draws per image make one epoch (``len = len(sources) * repeat``).
        augment: apply a random flip / 90-degree rotation to the HR patch before making its LR patch.
        seed: the base of the draw seeds for plain integer keys.
        skip_corrupt: skip unreadable images with a warning instead of raising.
        cache: ``"none"`` decodes an image file at every draw. ``"memory"`` decodes every image once, at
            construction, and keeps the ``uint8`` pixels in this process (forked DataLoader workers share them).
            ``"disk"`` opens (or first builds, with a progress bar) a :class:`~sr_lightning.data.cache.DiskImageCache`
            in ``cache_dir``, keyed on the files, so only the first run decodes; workers map the same file.
            Both caches check every file fully (a decode). ``True``/``False`` mean ``"memory"``/``"none"``.
        cache_dir: the disk cache's folder; None: :func:`~sr_lightning.data.cache.default_cache_dir`
            (``.sr_lightning_cache`` next to the images if writable, else ``~/.cache/sr_lightning/images``).
        make_lr: make the LR patch of each draw; False: items hold only ``"hr"``.
        origin: where the sources come from (a folder), named in the error when no image is usable.

    Raises:
        ValueError: for a ``patch_size`` that is not a positive multiple of ``scale``, a ``repeat`` below 1,
            an unknown ``cache`` mode, or when no image is usable.

    Example:
        >>> from sr_lightning.data.sources import SampleSource
        >>> dataset = TrainPatchDataset([SampleSource("rocket")], scale=4, patch_size=48)
        >>> item = dataset[0]
        >>> item["hr"].shape, item["lr"].shape, item["lr"].dtype
        (torch.Size([3, 48, 48]), torch.Size([3, 12, 12]), torch.float32)
    """

    def __init__(
        self,
        sources: Sequence[ImageSource],
        scale: int,
        patch_size: int = 96,
        repeat: int = 1,
        augment: bool = True,
        seed: int = 0,
        skip_corrupt: bool = False,
        cache: CacheMode | bool = "none",
        cache_dir: str | Path | None = None,
        make_lr: bool = True,
        origin: str | None = None,
    ) -> None:
        if patch_size < 1 or scale < 1 or patch_size % scale:
            raise ValueError(f"patch_size {patch_size} must be a positive multiple of scale {scale}.")
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}.")
        mode = cache_mode(cache)
        origin = origin or describe_sources(sources) or "no sources"
        self.disk_cache: DiskImageCache | None = None
        if mode == "disk":  # sizes and pixels then come from the cache: no image file is read after its build
            self.disk_cache = DiskImageCache(sources, cache_dir=cache_dir, skip_corrupt=skip_corrupt)
            sources = self.disk_cache.sources
        kept = usable_sources(
            sources, min_size=patch_size, skip_corrupt=skip_corrupt, purpose=f"the {patch_size}x{patch_size} patch"
        )
        self.sources: list[ImageSource] = [source for source, _ in kept]
        self._images: list[Tensor] | None = None
        if mode == "memory":
            self._images, self.sources = decode_sources(self.sources, skip_corrupt)
        if not self.sources:
            raise ValueError(
                f"No usable training image in {origin}: all {len(sources)} were skipped (see the warnings). "
                f"Add images of at least {patch_size}x{patch_size} pixels or lower patch_size."
            )
        self.patch_size = patch_size
        self.repeat = repeat
        self.augment = augment
        self.seed = seed
        self.make_lr = make_lr
        self._scale = shared_int(scale)

    @property
    def scale(self) -> int:
        """The super-resolution factor of the next draws; settable (``patch_size`` must stay a multiple)."""
        return int(self._scale[0])

    @scale.setter
    def scale(self, scale: int) -> None:
        if scale < 1 or self.patch_size % scale:
            raise ValueError(f"patch_size {self.patch_size} must be a positive multiple of scale {scale}.")
        self._scale[0] = scale

    def __len__(self) -> int:
        return len(self.sources) * self.repeat

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, draw_seed = key if isinstance(key, tuple) else (key, self.seed + key)
        if not 0 <= index < len(self):
            raise IndexError(f"TrainPatchDataset index {index} out of range for length {len(self)}.")
        position = index % len(self.sources)
        source = self.sources[position]
        img = self._images[position] if self._images is not None else source.load()
        size = self.patch_size
        _, height, width = img.shape
        if height < size or width < size:
            raise ValueError(f"{source.location} is now {height}x{width}, smaller than the {size}x{size} patch.")
        generator = torch.Generator().manual_seed(draw_seed)
        top = int(torch.randint(0, height - size + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - size + 1, (1,), generator=generator))
        hr = to_float(img[:, top : top + size, left : left + size])
        if self.augment:
            hr = dihedral(hr, int(torch.randint(0, 8, (1,), generator=generator))).contiguous()
        return {"lr": bicubic_lr(hr, self.scale), "hr": hr} if self.make_lr else {"hr": hr}


def decode_sources(
    sources: Sequence[ImageSource], skip_corrupt: bool = False
) -> tuple[list[Tensor], list[ImageSource]]:
    """Decode every source (for caching): the images and the sources they came from.

    Unreadable sources raise :class:`~sr_lightning.data.io.ImageReadError`, or are skipped with a warning
    naming each one when ``skip_corrupt``.
    """
    images: list[Tensor] = []
    kept: list[ImageSource] = []
    for source in sources:
        try:
            images.append(source.load())
        except ImageReadError as error:
            if not skip_corrupt:
                raise
            warnings.warn(f"Skipping unreadable image {source.location}: {error}", stacklevel=3)
            continue
        kept.append(source)
    return images, kept
