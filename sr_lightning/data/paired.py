"""Whole images for validation, test and predict, from HR images alone or from a paired HR/LR folder.

Each item is ``{"lr", "hr", "name"}``: the HR image cropped at the bottom/right to a multiple of the scale
(``hr[:, :H - H % s, :W - W % s]``, the benchmark convention), and its LR image: the official file of a paired
folder (see :mod:`sr_lightning.data.layout`) or, without one, the MATLAB-bicubic 8-bit downscale of the HR image.
Images differ in size, so batches of more than one image need equal sizes (:func:`collate_whole_images`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from torch import Tensor
from torch.utils.data import Dataset, default_collate

from sr_lightning.data.datasets import shared_int
from sr_lightning.data.degradation import bicubic_lr, crop_to_multiple
from sr_lightning.data.io import ImageReadError, image_size, list_images, read_image, to_float
from sr_lightning.data.layout import PairedFolder, find_pairs, is_paired_folder
from sr_lightning.data.sources import FileSource, ImageSource, describe_sources, usable_sources

__all__ = ["PairedImageDataset", "collate_whole_images", "scorable_size"]

# The paper protocol scores SSIM with an 11x11 window on the image less ``scale`` pixels of border on every side.
_SSIM_WINDOW = 11


def scorable_size(scale: int) -> int:
    """The smallest HR side the paper-protocol metrics can score at ``scale``: after cropping to a multiple of the
    scale and ``scale`` pixels of border, SSIM's 11x11 window must fit.

    Example:
        >>> [scorable_size(s) for s in (2, 3, 4)]
        [16, 18, 20]
    """
    return -(-(_SSIM_WINDOW + 2 * scale) // scale) * scale


class _Item(NamedTuple):
    hr: ImageSource
    lr: Path | None


def _check_lr_size(hr: ImageSource, hr_size: tuple[int, int], lr: Path, lr_size: tuple[int, int], scale: int) -> None:
    expected = (hr_size[0] - hr_size[0] % scale, hr_size[1] - hr_size[1] % scale)
    if (lr_size[0] * scale, lr_size[1] * scale) != expected:
        raise ValueError(
            f"LR image {lr} is {lr_size[0]}x{lr_size[1]}, but x{scale} of it should be the HR image {hr.location} "
            f"({hr_size[0]}x{hr_size[1]}, cropped to {expected[0]}x{expected[1]}). Is it the LR image of another "
            "scale or another picture?"
        )


class PairedImageDataset(Dataset[dict[str, Tensor | str]]):
    """Whole images with their LR versions, for validation and test (predict: LRImageDataset).

    Args:
        images: a folder, a :class:`~sr_lightning.data.layout.PairedFolder` or a list of sources. A folder with an
            ``HR/`` sub-folder is a paired folder (``LR_bicubic/X<s>/`` files are used when present, see
            :mod:`sr_lightning.data.layout`), and so is a ``PairedFolder`` (a paired training folder's validation
            split, or DIV2K's HR and LR folders); any other folder, and a list of sources, holds HR images whose LR
            images are made by bicubic.
        scale: the super-resolution factor; settable later (the pairs of the new scale are found then).
        skip_corrupt: skip unreadable images with a warning naming each one, instead of raising.
        for_metrics: skip, with a warning naming each, the images too small for the paper-protocol metrics
            (:func:`scorable_size`: SSIM's 11x11 window after the border crop), when the dataset is built rather
            than when a metric fails after an epoch of training. Without it, an image needs one LR pixel.

    Raises:
        FileNotFoundError: for a missing or empty folder, or an HR file without its LR file.
        ImageReadError: for an unreadable image, unless ``skip_corrupt``.
        ValueError: when an LR file's size times ``scale`` is not the cropped HR size, or no image is usable.

    Example:
        >>> from sr_lightning.data.sources import SampleSource
        >>> dataset = PairedImageDataset([SampleSource("chelsea")], scale=4)
        >>> item = dataset[0]
        >>> item["name"], tuple(item["hr"].shape), tuple(item["lr"].shape)
        ('chelsea', (3, 300, 448), (3, 75, 112))
    """

    def __init__(
        self,
        images: str | Path | PairedFolder | Sequence[ImageSource],
        scale: int,
        skip_corrupt: bool = False,
        for_metrics: bool = False,
    ) -> None:
        self.folder: PairedFolder | None = None
        if isinstance(images, PairedFolder):
            self.root: Path | None = None
            self.folder = images
            self._sources: list[ImageSource] = []
            self.origin = images.location
        elif isinstance(images, (str, Path)):
            self.root = Path(images)
            self._sources = []
            self.origin = str(self.root)
        else:
            self.root = None
            self._sources = list(images)
            self.origin = describe_sources(self._sources)
            if not self._sources:
                raise ValueError("PairedImageDataset got an empty list of images; pass a folder or sources.")
        self.skip_corrupt = skip_corrupt
        self.for_metrics = for_metrics
        self._items: dict[int, list[_Item]] = {}
        self._scale = shared_int(scale)
        self.scale = scale

    @property
    def scale(self) -> int:
        """The super-resolution factor; setting it finds and checks the images of the new scale."""
        return int(self._scale[0])

    @scale.setter
    def scale(self, scale: int) -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}.")
        self._items_for(scale)
        self._scale[0] = scale

    def _items_for(self, scale: int) -> list[_Item]:
        if scale not in self._items:
            self._items[scale] = self._resolve(scale)
        return self._items[scale]

    def _resolve(self, scale: int) -> list[_Item]:
        lr_of: dict[ImageSource, Path | None] = {}
        if self.folder is not None:
            for pair in self.folder.pairs(scale):
                lr_of[FileSource(pair.hr, name=pair.name)] = pair.lr
        elif self.root is not None and is_paired_folder(self.root):
            for pair in find_pairs(self.root, scale):
                lr_of[FileSource(pair.hr, name=pair.name)] = pair.lr
        elif self.root is not None:
            lr_of = dict.fromkeys(FileSource(path) for path in list_images(self.root))
        else:
            lr_of = dict.fromkeys(self._sources)
        if self.for_metrics:
            min_size, purpose = scorable_size(scale), f"what PSNR/SSIM can score at x{scale} (border {scale})"
        else:
            min_size, purpose = scale, f"one LR pixel at x{scale}"
        usable = usable_sources(list(lr_of), min_size=min_size, skip_corrupt=self.skip_corrupt, purpose=purpose)
        items = []
        for source, hr_size in usable:
            lr = lr_of[source]
            if lr is not None:
                try:
                    _check_lr_size(source, hr_size, lr, image_size(lr), scale)
                except ImageReadError as error:
                    if not self.skip_corrupt:
                        raise
                    warnings.warn(f"Skipping {source.location}: its LR image is unreadable: {error}", stacklevel=2)
                    continue
            items.append(_Item(source, lr))
        if not items:
            raise ValueError(f"No usable image in {self.origin} at x{scale}: every image was skipped (see warnings).")
        return items

    @property
    def names(self) -> list[str]:
        """The image names at the current scale, in item order."""
        return [item.hr.name for item in self._items_for(self.scale)]

    def __len__(self) -> int:
        return len(self._items_for(self.scale))

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        scale = self.scale
        item = self._items_for(scale)[index]
        hr = to_float(crop_to_multiple(item.hr.load(), scale))
        if item.lr is None:
            lr = bicubic_lr(hr, scale)
        else:
            lr = to_float(read_image(item.lr))
            lr_size, hr_size = tuple(lr.shape[1:]), tuple(hr.shape[1:])
            _check_lr_size(item.hr, hr_size, item.lr, lr_size, scale)  # type: ignore[arg-type]
        return {"lr": lr, "hr": hr, "name": item.hr.name}


def collate_whole_images(batch: list[dict[str, Tensor | str]]) -> dict[str, Tensor | list[str]]:
    """Batch whole-image items: tensors stacked, names (and paths) in lists; every image must have the same size.

    The size compared is the HR image's, or the LR image's for items without one (the LR inputs of predict).

    Raises:
        ValueError: naming each image and its size when the sizes differ (use a batch size of 1).

    Example:
        >>> import torch
        >>> items = [{"lr": torch.zeros(3, 2, 2), "hr": torch.zeros(3, 4, 4), "name": n} for n in "ab"]
        >>> batch = collate_whole_images(items)
        >>> batch["hr"].shape, batch["name"]
        (torch.Size([2, 3, 4, 4]), ['a', 'b'])
    """
    key = "hr" if "hr" in batch[0] else "lr"
    sizes = {tuple(item[key].shape) for item in batch}  # type: ignore[union-attr]
    if len(sizes) > 1:
        listing = ", ".join(f"{item['name']} {'x'.join(map(str, item[key].shape[1:]))}" for item in batch)  # type: ignore[union-attr]
        raise ValueError(
            f"Cannot batch whole images of different sizes ({listing}). Use a batch size of 1 for whole "
            "images (SRDataModule(val_batch_size=1), the default)."
        )
    return default_collate(batch)
