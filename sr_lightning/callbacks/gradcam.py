"""``GradCAMImages``: a PNG of LR | LR + heatmap | SR | SR + heatmap after each validation, to see what the
generator looks at (see :func:`sr_lightning.explain.grad_cam`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor
from torchvision.utils import make_grid

from sr_lightning.callbacks._outputs import module_scale, unpack_images
from sr_lightning.callbacks._periodic import check_every_n_epochs, is_due
from sr_lightning.callbacks.image_log import log_image
from sr_lightning.explain.gradcam import grad_cam, overlay, resolve_layer

__all__ = ["GradCAMImages"]


def _center_crop_box(h: int, w: int, size: int) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the centred crop of an ``h`` x ``w`` image to at most ``size`` a side."""
    ch, cw = min(h, size), min(w, size)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


class GradCAMImages(Callback):
    """Save (and log, where the logger takes images) HiResCAM heatmaps of validation images every N epochs.

    Rows are the first ``num_images`` validation images; columns are the LR image (nearest-neighbour enlarged to
    SR size), the LR image under its heatmap, the SR output and the SR output under the same heatmap. The heatmaps
    are computed on the module's ``inference_generator`` (the EMA weights when there are any) at the end of the
    validation epoch. The PNG goes to ``<log_dir>/images/grad_cam_epoch<NNN>.png``; only the global-zero process
    draws, and never during the sanity check.

    Args:
        layer: the generator layer to explain, by module name; None is the last conv of its ``body``.
        target: the score explained: ``"edge_energy"`` (where the output has detail) or ``"luminance"``.
        num_images: rows of the picture.
        every_n_epochs: how often to draw.
        alpha: weight of the heatmap colours in the blended columns, in [0, 1].
        max_size: LR images with a side above this are centre-cropped to it first (the cost is a forward and a
            backward pass per image).
        saturation: the fraction of each heatmap's highest values drawn at full colour (see
            :func:`~sr_lightning.explain.grad_cam`); the default shows the structure of spiky HiResCAM maps.

    Raises:
        ValueError: an argument out of range; at setup, a ``layer`` the generator does not have (the message lists
            its conv layers).
    """

    def __init__(
        self,
        layer: str | None = None,
        target: Literal["edge_energy", "luminance"] = "edge_energy",
        num_images: int = 2,
        every_n_epochs: int = 1,
        alpha: float = 0.5,
        max_size: int = 256,
        saturation: float = 0.01,
    ) -> None:
        super().__init__()
        if target not in ("edge_energy", "luminance"):
            raise ValueError(f"GradCAMImages target must be 'edge_energy' or 'luminance', got {target!r}.")
        if num_images < 1 or max_size < 1:
            raise ValueError(f"GradCAMImages needs positive values, got num_images={num_images}, max_size={max_size}.")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"GradCAMImages alpha must be in [0, 1], got {alpha!r}.")
        self.layer = layer
        self.target = target
        self.num_images = num_images
        self.every_n_epochs = check_every_n_epochs("GradCAMImages", every_n_epochs)
        self.alpha = alpha
        self.max_size = max_size
        if not 0.0 <= saturation < 1.0:
            raise ValueError(f"GradCAMImages saturation must be in [0, 1), got {saturation!r}.")
        self.saturation = saturation
        self._images: list[tuple[Tensor, Tensor]] = []
        self.last_path: Path | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Check the layer name before training rather than after the first epoch."""
        resolve_layer(pl_module.inference_generator, self.layer)

    def _active(self, trainer: L.Trainer) -> bool:
        return trainer.is_global_zero and is_due(trainer, self.every_n_epochs)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._images = []

    def on_validation_batch_end(self, trainer, pl_module, outputs: Any, batch, batch_idx, dataloader_idx=0) -> None:
        if not self._active(trainer) or len(self._images) >= self.num_images:
            return
        lr, sr, _ = unpack_images(outputs, "GradCAMImages")
        scale = module_scale(pl_module)
        for i in range(min(lr.shape[0], self.num_images - len(self._images))):
            top, left, h, w = _center_crop_box(*lr.shape[-2:], self.max_size)
            lr_crop = lr[i, :, top : top + h, left : left + w]
            sr_crop = sr[i, :, top * scale : (top + h) * scale, left * scale : (left + w) * scale]
            self._images.append((lr_crop.detach().cpu(), sr_crop.detach().float().clamp(0, 1).cpu()))

    def _row(self, generator: torch.nn.Module, lr: Tensor, sr: Tensor) -> Tensor:
        """The (4, 3, H, W) row ``LR | LR + heatmap | SR | SR + heatmap`` of one image."""
        device = next(generator.parameters()).device
        heat = grad_cam(
            generator, lr[None].to(device), layer=self.layer, target=self.target, saturation=self.saturation
        ).cpu()
        big_lr = F.interpolate(lr[None].float().clamp(0, 1), size=sr.shape[-2:], mode="nearest")
        sr = sr[None]
        return torch.cat([big_lr, overlay(big_lr, heat, self.alpha), sr, overlay(sr, heat, self.alpha)])

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._images:
            return
        generator = pl_module.inference_generator
        rows = [self._row(generator, lr, sr) for lr, sr in self._images]
        self._images = []
        # Images may differ in size: pad each row to the largest.
        h, w = max(r.shape[-2] for r in rows), max(r.shape[-1] for r in rows)
        tiles = torch.cat([F.pad(r, (0, w - r.shape[-1], 0, h - r.shape[-2])) for r in rows])
        grid = make_grid(tiles, nrow=4, padding=2, pad_value=1.0)
        layer = resolve_layer(generator, self.layer)
        caption = f"LR | LR + heatmap | SR | SR + heatmap (HiResCAM of {layer!r}, target {self.target})"
        self.last_path = log_image(
            trainer, "val/grad_cam", grid, caption, f"grad_cam_epoch{trainer.current_epoch:03d}.png"
        )
