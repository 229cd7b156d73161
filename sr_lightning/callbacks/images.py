"""``ImagePanel``: a PNG of LR | bicubic | SR | HR crops after each validation, for eyes rather than numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor
from torchvision.utils import make_grid

from sr_lightning.callbacks._image_log import log_image
from sr_lightning.callbacks._outputs import bicubic_upscale, module_scale, unpack_images

__all__ = ["ImagePanel", "make_panel"]


def _center_crop(img: Tensor, size: int) -> Tensor:
    h, w = img.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[..., top : top + size, left : left + size]


def make_panel(lr: Tensor, sr: Tensor, hr: Tensor, scale: int, crop_size: int = 128) -> Tensor:
    """One row ``LR (nearest) | bicubic | SR | HR`` of aligned centre crops, each ``crop_size`` HR pixels.

    Args:
        lr: (3, h, w) low-resolution image in [0, 1].
        sr: (3, h * scale, w * scale) model output.
        hr: (3, h * scale, w * scale) ground truth.
        scale: the upscaling factor.
        crop_size: side of the crops in HR pixels (rounded down to a multiple of ``scale``).

    Returns:
        A (4, 3, c, c) stack of crops in [0, 1].
    """
    lr_crop_size = max(1, min(crop_size, *hr.shape[-2:]) // scale)
    lr_crop = _center_crop(lr, lr_crop_size)
    # The same region in HR coordinates: centre crops of LR and HR line up when offsets are scaled.
    h, w = lr.shape[-2:]
    top, left = max(0, (h - lr_crop_size) // 2) * scale, max(0, (w - lr_crop_size) // 2) * scale
    size = lr_crop_size * scale

    def hr_crop(img: Tensor) -> Tensor:
        return img[..., top : top + size, left : left + size]

    nearest = F.interpolate(lr_crop[None].float(), scale_factor=scale, mode="nearest")[0]
    bicubic = hr_crop(bicubic_upscale(lr[None], scale)[0])
    return torch.stack([nearest, bicubic, hr_crop(sr.float()), hr_crop(hr.float())]).clamp(0, 1)


class ImagePanel(Callback):
    """Save (and log, where the logger takes images) a panel of validation crops every ``every_n_epochs``.

    Rows are the first ``num_images`` validation images; columns are LR (nearest-neighbour enlarged), bicubic,
    the model's SR and HR. The PNG goes to ``<log_dir>/images/val_epoch<NNN>.png``. Only the global-zero process
    draws (under DDP it shows its own share of the validation set).

    Args:
        num_images: rows of the panel.
        crop_size: crop side in HR pixels.
        every_n_epochs: how often to draw.
    """

    def __init__(self, num_images: int = 4, crop_size: int = 128, every_n_epochs: int = 1) -> None:
        super().__init__()
        if num_images < 1 or crop_size < 1 or every_n_epochs < 1:
            raise ValueError(
                f"ImagePanel needs positive values, got num_images={num_images}, crop_size={crop_size}, "
                f"every_n_epochs={every_n_epochs}."
            )
        self.num_images = num_images
        self.crop_size = crop_size
        self.every_n_epochs = every_n_epochs
        self._rows: list[Tensor] = []
        self.last_path: Path | None = None

    def _active(self, trainer: L.Trainer) -> bool:
        return (
            trainer.is_global_zero
            and not trainer.sanity_checking
            and (trainer.current_epoch + 1) % self.every_n_epochs == 0
        )

    def on_validation_batch_end(self, trainer, pl_module, outputs: Any, batch, batch_idx, dataloader_idx=0) -> None:
        if not self._active(trainer) or len(self._rows) >= self.num_images:
            return
        lr, sr, hr = unpack_images(outputs, "ImagePanel")
        scale = module_scale(pl_module)
        for i in range(min(lr.shape[0], self.num_images - len(self._rows))):
            self._rows.append(make_panel(lr[i].cpu(), sr[i].cpu(), hr[i].cpu(), scale, self.crop_size))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._rows:
            return
        # Rows may differ in size when an image is smaller than the crop: pad each to the largest.
        side = max(max(r.shape[-2:]) for r in self._rows)
        tiles = [F.pad(r, (0, side - r.shape[-1], 0, side - r.shape[-2])) for r in self._rows]
        grid = make_grid(torch.cat(tiles), nrow=4, padding=2, pad_value=1.0)
        self._rows = []
        self.last_path = log_image(
            trainer, "val/panel", grid, "LR | bicubic | SR | HR", f"val_epoch{trainer.current_epoch:03d}.png"
        )
