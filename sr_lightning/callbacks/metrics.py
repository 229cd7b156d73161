"""``SRMetrics``: PSNR/SSIM (RGB and Y) of the model and of bicubic, logged by any module that returns images."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from torch import nn

from sr_lightning.callbacks._outputs import bicubic_upscale, module_scale, unpack_images
from sr_lightning.metrics import PSNR, SSIM

__all__ = ["SRMetrics"]


class SRMetrics(Callback):
    """Score validation and test outputs with the paper protocol and log them.

    Logs ``<stage>/psnr``, ``<stage>/ssim`` (RGB), ``<stage>/psnr_y``, ``<stage>/ssim_y`` (Y channel) and, with
    ``bicubic=True``, the same for the MATLAB-bicubic upscale of the LR input (``<stage>/bicubic_psnr_y``...), so
    every run shows its gain. Every value is a per-image mean with ``border`` pixels cropped (default: the
    module's scale, which a progressive schedule may change). The metrics are torchmetrics objects, so under DDP
    each process updates its own share and ``compute`` synchronises them before logging.

    Args:
        border: pixels cropped from every side; ``None`` uses the module's ``scale``.
        bicubic: also score the bicubic baseline.
        rgb: also score on RGB (the Y channel is always scored).
    """

    def __init__(self, border: int | None = None, bicubic: bool = True, rgb: bool = True) -> None:
        super().__init__()
        if border is not None and border < 0:
            raise ValueError(f"SRMetrics border must be >= 0 or None, got {border}.")
        self.border = border
        self.bicubic = bicubic
        self.rgb = rgb
        self._metrics: dict[str, nn.ModuleDict] = {}

    def _make_metrics(self) -> nn.ModuleDict:
        metrics: dict[str, nn.Module] = {"psnr_y": PSNR(y_channel=True), "ssim_y": SSIM(y_channel=True)}
        if self.rgb:
            metrics |= {"psnr": PSNR(), "ssim": SSIM()}
        if self.bicubic:
            metrics |= {f"bicubic_{name}": type(m)(y_channel=m.y_channel) for name, m in metrics.items()}
        return nn.ModuleDict(metrics)

    def _update(self, stage: str, pl_module: L.LightningModule, outputs: Any) -> None:
        lr, sr, hr = unpack_images(outputs, f"SRMetrics ({stage})")
        scale = module_scale(pl_module)
        border = scale if self.border is None else self.border
        metrics = self._metrics.get(stage)
        if metrics is None:
            metrics = self._metrics[stage] = self._make_metrics().to(pl_module.device)
        bicubic = bicubic_upscale(lr, scale) if self.bicubic else None
        for name, metric in metrics.items():
            metric.border = border
            metric.update(bicubic if name.startswith("bicubic_") else sr, hr)

    def _log(self, stage: str, pl_module: L.LightningModule) -> None:
        metrics = self._metrics.pop(stage, None)
        if metrics is None:
            return
        for name, metric in metrics.items():
            pl_module.log(f"{stage}/{name}", metric.compute(), prog_bar=name == "psnr_y")
            metric.reset()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._update("val", pl_module, outputs)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log("val", pl_module)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._update("test", pl_module, outputs)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log("test", pl_module)
