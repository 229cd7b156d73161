"""``ImagePanel``: a picture of LR | bicubic | SR | HR crops of chosen validation images, for eyes rather than numbers.

:func:`make_panel` cuts one row of aligned crops; :func:`detail_offset` finds the crop window with the most edges, and
``_CropOffsets`` keeps it per image and scale for this callback and :class:`~sr_lightning.callbacks.BestWorstImages`.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor
from torchvision.utils import make_grid

from sr_lightning.callbacks._outputs import bicubic_upscale, module_scale, unpack_images
from sr_lightning.callbacks._periodic import check_every_n_epochs, is_due
from sr_lightning.callbacks.image_log import log_image
from sr_lightning.losses.edge import sobel_magnitude

__all__ = ["ImagePanel", "detail_offset", "make_panel", "panel_grid"]

Crop = Literal["detail", "center"]
_BICUBIC_MARGIN = 4  # LR pixels around a crop that MATLAB bicubic (4 taps when enlarging) can reach


def _lr_crop_size(hr: Tensor, scale: int, crop_size: int) -> int:
    return max(1, min(crop_size, *hr.shape[-2:]) // scale)


def detail_offset(hr: Tensor, scale: int, crop_size: int = 128) -> tuple[int, int]:
    """The (top, left) LR-pixel corner of the crop window holding the most edge energy of ``hr``.

    Edge energy is the Sobel gradient magnitude summed over channels. Windows are ``crop_size`` HR pixels
    (rounded down to a multiple of ``scale``) aligned to the LR grid, so the crop of the LR image covers exactly
    the same region. Each window's energy comes from two box filters (avg-pooling LR cells, then windows), not a
    loop over windows. Ties go to the top-most, then left-most window; an image without edges gets the centre.

    Args:
        hr: (3, H, W) high-resolution image with ``H`` and ``W`` multiples of ``scale`` (as the datasets make).
        scale: the upscaling factor.
        crop_size: side of the crop in HR pixels.

    Example:
        >>> import torch
        >>> hr = torch.zeros(3, 32, 32)
        >>> hr[:, 20:28, 4:12] = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> detail_offset(hr, scale=2, crop_size=8)
        (10, 2)
    """
    size = _lr_crop_size(hr, scale, crop_size)
    h, w = hr.shape[-2] // scale, hr.shape[-1] // scale
    energy = sobel_magnitude(hr[None, :, : h * scale, : w * scale].float(), eps=0.0).sum(dim=1, keepdim=True)
    cells = F.avg_pool2d(energy, scale)  # one value per LR pixel
    windows = F.avg_pool2d(F.avg_pool2d(cells, (size, 1), stride=1), (1, size), stride=1)[0, 0]
    if not windows.max() > 0:
        return (h - size) // 2, (w - size) // 2
    top, left = divmod(int(windows.flatten().argmax()), windows.shape[-1])
    return top, left


class _CropOffsets:
    """Where the crop of each image goes, for the callbacks that draw :func:`make_panel` rows every epoch.

    With ``crop="detail"`` it is the window of :func:`detail_offset`, found the first time an image is seen at a scale
    and then kept, so the rows of later epochs show the same region without another Sobel pass; with ``"center"`` it
    is ``None`` (the centre, which :func:`make_panel` finds itself).

    Attributes:
        found: the kept LR (top, left) corners by ``(image_id, scale)``.
    """

    def __init__(self, crop: Crop, crop_size: int) -> None:
        self.crop = crop
        self.crop_size = crop_size
        self.found: dict[tuple[Hashable, int], tuple[int, int]] = {}

    def __call__(self, image_id: Hashable, hr: Tensor, scale: int) -> tuple[int, int] | None:
        """The ``offset`` for :func:`make_panel` of the image ``image_id`` (its name, or its loader position), whose
        HR image is ``hr`` (3, H, W)."""
        if self.crop != "detail":
            return None
        key = (image_id, scale)
        if key not in self.found:
            self.found[key] = detail_offset(hr, scale, self.crop_size)
        return self.found[key]


def make_panel(
    lr: Tensor,
    sr: Tensor,
    hr: Tensor,
    scale: int,
    crop_size: int = 128,
    offset: tuple[int, int] | None = None,
) -> Tensor:
    """One row ``LR (nearest) | bicubic | SR | HR`` of crops of the same region, each ``crop_size`` HR pixels.

    Args:
        lr: (3, h, w) low-resolution image in [0, 1].
        sr: (3, h * scale, w * scale) model output.
        hr: (3, h * scale, w * scale) ground truth.
        scale: the upscaling factor.
        crop_size: side of the crops in HR pixels (rounded down to a multiple of ``scale``).
        offset: (top, left) corner of the crop in LR pixels, e.g. from :func:`detail_offset`; ``None`` centres it.

    Returns:
        A (4, 3, c, c) stack of crops in [0, 1].

    Raises:
        ValueError: ``offset`` puts the crop (partly) outside the LR image.

    Example:
        >>> import torch
        >>> hr = torch.rand(3, 32, 32)
        >>> lr = hr[:, ::2, ::2]
        >>> panel = make_panel(lr, hr, hr, scale=2, crop_size=8, offset=(3, 5))
        >>> panel.shape, torch.equal(panel[3], hr[:, 6:14, 10:18])
        (torch.Size([4, 3, 8, 8]), True)
    """
    size = _lr_crop_size(hr, scale, crop_size)
    h, w = lr.shape[-2:]
    if offset is None:
        top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    else:
        top, left = offset
        if not (0 <= top <= h - size and 0 <= left <= w - size):
            raise ValueError(
                f"make_panel offset {offset} puts a {size}x{size} LR crop outside the {h}x{w} LR image; "
                f"use 0 <= top <= {h - size} and 0 <= left <= {w - size}, or offset=None for the centre."
            )
    # The same region in HR coordinates: LR offsets times the scale.
    y, x, hr_size = top * scale, left * scale, size * scale

    def hr_crop(img: Tensor) -> Tensor:
        return img[..., y : y + hr_size, x : x + hr_size]

    lr_crop = lr[..., top : top + size, left : left + size]
    nearest = F.interpolate(lr_crop[None].float(), scale_factor=scale, mode="nearest")[0]
    # Bicubic of the crop plus a margin gives the same pixels as bicubic of the whole image, much faster.
    y0, x0 = max(0, top - _BICUBIC_MARGIN), max(0, left - _BICUBIC_MARGIN)
    y1, x1 = min(h, top + size + _BICUBIC_MARGIN), min(w, left + size + _BICUBIC_MARGIN)
    bicubic = bicubic_upscale(lr[None, :, y0:y1, x0:x1], scale)[0]
    bicubic = bicubic[:, (top - y0) * scale :, (left - x0) * scale :][:, :hr_size, :hr_size]
    return torch.stack([nearest, bicubic, hr_crop(sr.float()), hr_crop(hr.float())]).clamp(0, 1)


def panel_grid(rows: list[Tensor]) -> Tensor:
    """A (3, H, W) grid of :func:`make_panel` rows, four columns, each row padded to the largest crop."""
    side = max(max(r.shape[-2:]) for r in rows)
    tiles = [F.pad(r, (0, side - r.shape[-1], 0, side - r.shape[-2])) for r in rows]
    return make_grid(torch.cat(tiles), nrow=4, padding=2, pad_value=1.0)


class ImagePanel(Callback):
    """Save (and log, where the logger takes images) a panel of validation crops every ``every_n_epochs``.

    Rows are the validation images at ``indices`` (positions in loader order, counted across batches of any
    size), by default the first ``num_images``: the same images every epoch. Columns are LR (nearest-neighbour
    enlarged), bicubic, the model's SR and HR, cropped to the same region: with ``crop="detail"`` the window of
    the HR image with the most edges (:func:`detail_offset`, found once per image and scale, then kept, so epochs
    compare), with ``crop="center"`` the centre. It draws at every ``every_n_epochs``-th validation of a fit and
    at every ``trainer.validate``, never in the sanity check. The PNG goes to
    ``<run folder>/images/val_epoch<NNN>.png`` and to W&B / TensorBoard when such a logger is attached. Only the
    global-zero process draws, from its own share of the validation set (under DDP, positions count within that
    share), and only from the first dataloader.

    Args:
        num_images: rows of the panel when ``indices`` is None.
        crop_size: crop side in HR pixels.
        every_n_epochs: how often to draw.
        indices: validation positions to show, in this row order; ``None`` means ``range(num_images)``.
        crop: ``"detail"`` (most edges) or ``"center"``.

    Raises:
        ValueError: a non-positive size, negative or repeated ``indices``, an unknown ``crop``; at the end of a
            validation that did not reach every requested index, one that names the missing indices.
    """

    def __init__(
        self,
        num_images: int = 4,
        crop_size: int = 128,
        every_n_epochs: int = 1,
        indices: list[int] | None = None,
        crop: Crop = "detail",
    ) -> None:
        super().__init__()
        if num_images < 1 or crop_size < 1:
            raise ValueError(f"ImagePanel needs positive values, got num_images={num_images}, crop_size={crop_size}.")
        if indices is not None and (not indices or min(indices) < 0 or len(set(indices)) != len(indices)):
            raise ValueError(f"ImagePanel indices must be distinct validation positions >= 0, got {indices!r}.")
        if crop not in ("detail", "center"):
            raise ValueError(f"ImagePanel crop must be 'detail' or 'center', got {crop!r}.")
        self.num_images = num_images
        self.crop_size = crop_size
        self.every_n_epochs = check_every_n_epochs("ImagePanel", every_n_epochs)
        self.indices = list(indices) if indices is not None else None
        self.crop = crop
        self._wanted = self.indices if self.indices is not None else list(range(num_images))
        self._rows: dict[int, Tensor] = {}
        self._seen = 0
        self._offsets = _CropOffsets(crop, crop_size)  # by (position, scale)
        self.last_path: Path | None = None

    def _active(self, trainer: L.Trainer) -> bool:
        return trainer.is_global_zero and is_due(trainer, self.every_n_epochs)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows, self._seen = {}, 0

    def on_validation_batch_end(self, trainer, pl_module, outputs: Any, batch, batch_idx, dataloader_idx=0) -> None:
        if not self._active(trainer) or dataloader_idx != 0:
            return
        lr, sr, hr = unpack_images(outputs, "ImagePanel")
        scale = module_scale(pl_module)
        first, self._seen = self._seen, self._seen + lr.shape[0]
        for index in self._wanted:
            if first <= index < self._seen:
                i = index - first
                offset = self._offsets(index, hr[i], scale)
                self._rows[index] = make_panel(lr[i], sr[i], hr[i], scale, self.crop_size, offset).cpu()

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._active(trainer):
            return
        missing = [index for index in self._wanted if index not in self._rows]
        if self.indices is not None and missing:
            raise ValueError(
                f"ImagePanel indices {missing} are beyond the {self._seen} validation images this process saw; "
                f"use positions below {self._seen} (or raise limit_val_batches)."
            )
        rows = [self._rows[index] for index in self._wanted if index in self._rows]
        self._rows = {}
        if not rows:
            return
        grid = panel_grid(rows)
        self.last_path = log_image(
            trainer, "val/panel", grid, "LR | bicubic | SR | HR", f"val_epoch{trainer.current_epoch:03d}.png"
        )
