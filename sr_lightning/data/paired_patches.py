"""The paired training dataset: aligned random patches of HR images and of their LR files.

When the LR images already exist (a benchmark-style folder ``HR/`` + ``LR_bicubic/X<s>/``, or DIV2K's
``DIV2K_train_HR`` with ``DIV2K_train_LR_bicubic/X4``, see :mod:`sr_lightning.data.layout`), training reads them
instead of making them by bicubic: a draw cuts an LR patch of ``patch_size // scale`` pixels at LR position
``(i, j)`` and the HR patch of ``patch_size`` pixels at ``(i * scale, j * scale)``, and applies the same flip /
rotation to both. The LR images may come from any degradation (blur, noise, JPEG, a real camera): the pairs are
used as they are. Draws are keyed like :class:`~sr_lightning.data.datasets.TrainPatchDataset`'s, so
:class:`~sr_lightning.data.samplers.SeededPatchSampler` gives the same batches with any number of workers.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sr_lightning.data.cache import DiskImageCache
from sr_lightning.data.datasets import CacheMode, cache_mode, shared_int
from sr_lightning.data.io import ImageReadError, to_float
from sr_lightning.data.layout import ImagePair, PairedFolder, lr_scales
from sr_lightning.data.paired import _check_lr_size
from sr_lightning.data.sources import FileSource, ImageSource, usable_sources
from sr_lightning.data.transforms import dihedral

__all__ = ["PairedPatchDataset", "build_pair_caches", "pairs_with_lr"]


class _Pair(NamedTuple):
    hr: ImageSource
    lr: ImageSource


def pairs_with_lr(folder: PairedFolder, scale: int) -> list[ImagePair]:
    """The pairs of ``scale``, which must all have an LR file."""
    if folder.lr_dir is None and not folder.has_lr(scale):
        found = ", ".join(f"x{s}" for s in lr_scales(folder.hr_dir)) or "none"
        raise ValueError(
            f"The paired training folder {folder.hr_dir} has no LR_bicubic/X{scale}/ folder (LR folders: {found}): "
            f"add the x{scale} LR images there, or train at a scale it has."
        )
    return [pair for pair in folder.pairs(scale) if pair.lr is not None]


def build_pair_caches(
    pairs: list[ImagePair], cache_dir: str | Path | None = None, skip_corrupt: bool = False
) -> tuple[DiskImageCache, DiskImageCache]:
    """Open (or first build) the disk caches of the HR files and of the LR files of ``pairs`` (all with an LR file).

    Two caches, each keyed on its own files: the HR cache of a DIV2K-style folder is the same at every scale, and
    the LR folder of each scale has its own, so switching scale never replaces the other scale's cache.
    """
    hr = DiskImageCache([FileSource(pair.hr, pair.name) for pair in pairs], cache_dir, skip_corrupt)
    lr = DiskImageCache([FileSource(pair.lr, pair.name) for pair in pairs], cache_dir, skip_corrupt)  # type: ignore[arg-type]
    return hr, lr


class PairedPatchDataset(Dataset[dict[str, Tensor]]):
    """Aligned random patches of HR images and their LR files, for training.

    Pairs are checked when the dataset is built: an LR file whose size times ``scale`` is not the HR size (cropped
    to a multiple of the scale) raises a ValueError naming both files; HR images smaller than the patch are
    skipped with a warning naming each one; unreadable files raise, or are skipped with a warning when
    ``skip_corrupt``.

    Args:
        folder: a paired folder (``HR/`` + ``LR_bicubic/X<scale>/``), or, with ``lr_dir``, a folder of HR images;
            or a :class:`~sr_lightning.data.layout.PairedFolder` (a subset, for a training/validation split).
        scale: the super-resolution factor; ``patch_size`` must be a multiple of it. Settable when the folder has
            LR images of the new scale (a paired folder with several ``LR_bicubic/X<s>/``); one ``lr_dir`` serves
            one scale, so then setting another raises.
        lr_dir: the folder of the LR images of ``scale`` (DIV2K: ``DIV2K_train_LR_bicubic/X4``), whose files
            are named like the HR ones (``0001.png`` or ``0001x4.png``).
        patch_size: the HR patch side; the LR patch side is ``patch_size // scale``.
        repeat: how many draws per pair make one epoch.
        augment: apply the same random flip / 90-degree rotation to both patches.
        seed: the base of the draw seeds for plain integer keys.
        skip_corrupt: skip unreadable images with a warning instead of raising.
        cache: ``"none"`` decodes both files at every draw; ``"memory"`` decodes every pair once, at
            construction (forked workers share the pixels); ``"disk"`` decodes once into memory-mapped files
            reused by later runs (:func:`build_pair_caches`).
        cache_dir: the disk caches' folder; None: next to the images if writable, else the user cache folder.

    Raises:
        ValueError: a ``patch_size`` that is not a positive multiple of ``scale``, a ``repeat`` below 1, an unknown
            ``cache``, no LR folder for ``scale``, an LR image of the wrong size, or no usable pair.
        FileNotFoundError: a missing folder, or an HR image without its LR file.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for rel, size in [("HR/a.png", 48), ("LR_bicubic/X4/a.png", 12)]:
        ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ...     Image.new("RGB", (size, size)).save(root / rel)
        >>> item = PairedPatchDataset(root, scale=4, patch_size=24)[0]
        >>> item["hr"].shape, item["lr"].shape
        (torch.Size([3, 24, 24]), torch.Size([3, 6, 6]))
    """

    def __init__(
        self,
        folder: str | Path | PairedFolder,
        scale: int,
        lr_dir: str | Path | None = None,
        patch_size: int = 96,
        repeat: int = 1,
        augment: bool = True,
        seed: int = 0,
        skip_corrupt: bool = False,
        cache: CacheMode | bool = "none",
        cache_dir: str | Path | None = None,
    ) -> None:
        if patch_size < 1 or scale < 1 or patch_size % scale:
            raise ValueError(f"patch_size {patch_size} must be a positive multiple of scale {scale}.")
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}.")
        if isinstance(folder, PairedFolder):
            if lr_dir is not None:
                raise ValueError("Give lr_dir inside the PairedFolder, not next to it.")
            self.folder = folder
        else:
            lr_scale = scale if lr_dir is not None else None
            self.folder = PairedFolder(Path(folder), None if lr_dir is None else Path(lr_dir), lr_scale)
        self.cache = cache_mode(cache)
        self.cache_dir = cache_dir
        self.skip_corrupt = skip_corrupt
        self.patch_size = patch_size
        self.repeat = repeat
        self.augment = augment
        self.seed = seed
        self._pairs: dict[int, list[_Pair]] = {}
        self._pixels: dict[int, list[tuple[Tensor, Tensor]]] = {}
        self._scale = shared_int(scale)
        self._pairs_for(scale)

    @property
    def scale(self) -> int:
        """The super-resolution factor of the next draws; setting it finds and checks the pairs of the new scale."""
        return int(self._scale[0])

    @scale.setter
    def scale(self, scale: int) -> None:
        if scale < 1 or self.patch_size % scale:
            raise ValueError(f"patch_size {self.patch_size} must be a positive multiple of scale {scale}.")
        count, new = len(self._pairs_for(self.scale)), len(self._pairs_for(scale))
        if new != count:  # the sampler's length is fixed when the loader is made
            raise ValueError(
                f"{self.folder.location} has {count} usable pairs at x{self.scale} but {new} at x{scale}: switching "
                "scale during training needs the same images at both scales."
            )
        self._scale[0] = scale

    @property
    def sources(self) -> list[ImageSource]:
        """The HR images of the current scale, in item order."""
        return [pair.hr for pair in self._pairs_for(self.scale)]

    def _pairs_for(self, scale: int) -> list[_Pair]:
        """The checked pairs of ``scale``, found once per process (a worker finds a new scale's pairs itself)."""
        if scale not in self._pairs:
            self._pairs[scale] = self._resolve(scale)
        return self._pairs[scale]

    def _resolve(self, scale: int) -> list[_Pair]:
        found = pairs_with_lr(self.folder, scale)
        hr_sources: list[ImageSource] = [FileSource(pair.hr, pair.name) for pair in found]
        lr_sources: list[ImageSource] = [FileSource(pair.lr, pair.name) for pair in found]  # type: ignore[arg-type]
        if self.cache == "disk":
            hr_cache, lr_cache = build_pair_caches(found, self.cache_dir, self.skip_corrupt)
            hr_sources, lr_sources = list(hr_cache.sources), list(lr_cache.sources)
        lr_of = dict(zip(hr_sources, lr_sources, strict=True))
        size = self.patch_size
        usable = usable_sources(
            hr_sources, min_size=size, skip_corrupt=self.skip_corrupt, purpose=f"the {size}x{size} patch"
        )
        pairs, pixels = [], []
        for hr, hr_size in usable:
            lr = lr_of[hr]
            try:
                _check_lr_size(hr, hr_size, Path(lr.location), lr.size(verify=True), scale)
                if self.cache == "memory":  # a full decode of both files: errors name the pair now, not mid-epoch
                    pixels.append((hr.load(), lr.load()))
            except ImageReadError as error:
                if not self.skip_corrupt:
                    raise
                warnings.warn(f"Skipping the pair {hr.location}, {lr.location}: {error}", stacklevel=4)
                continue
            pairs.append(_Pair(hr, lr))
        if not pairs:
            raise ValueError(
                f"No usable training pair in {self.folder.location} at x{scale}: all {len(found)} were skipped (see "
                f"the warnings). Add HR images of at least {size}x{size} pixels or lower patch_size."
            )
        if self.cache == "memory":
            self._pixels[scale] = pixels
        return pairs

    def __len__(self) -> int:
        return len(self._pairs_for(self.scale)) * self.repeat

    def _images(self, scale: int, position: int) -> tuple[Tensor, Tensor]:
        pair = self._pairs_for(scale)[position]
        hr, lr = self._pixels[scale][position] if self.cache == "memory" else (pair.hr.load(), pair.lr.load())
        hr_size, lr_size = tuple(hr.shape[1:]), tuple(lr.shape[1:])
        _check_lr_size(pair.hr, hr_size, Path(pair.lr.location), lr_size, scale)  # type: ignore[arg-type]
        return hr, lr

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, draw_seed = key if isinstance(key, tuple) else (key, self.seed + key)
        if not 0 <= index < len(self):
            raise IndexError(f"PairedPatchDataset index {index} out of range for length {len(self)}.")
        scale = self.scale
        pairs = self._pairs_for(scale)
        hr_img, lr_img = self._images(scale, index % len(pairs))
        size = self.patch_size // scale
        _, height, width = lr_img.shape
        if height < size or width < size:
            location = pairs[index % len(pairs)].lr.location
            raise ValueError(f"{location} is now {height}x{width}, smaller than the {size}x{size} LR patch.")
        generator = torch.Generator().manual_seed(draw_seed)
        top = int(torch.randint(0, height - size + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - size + 1, (1,), generator=generator))
        lr = to_float(lr_img[:, top : top + size, left : left + size])
        hr = to_float(hr_img[:, top * scale : (top + size) * scale, left * scale : (left + size) * scale])
        if self.augment:
            k = int(torch.randint(0, 8, (1,), generator=generator))
            lr, hr = dihedral(lr, k).contiguous(), dihedral(hr, k).contiguous()
        return {"lr": lr, "hr": hr}
