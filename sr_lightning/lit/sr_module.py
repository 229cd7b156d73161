"""``SRModule``: the pixel-loss LightningModule that trains any generator."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from sr_lightning.lit._hparams import save_config
from sr_lightning.losses import WeightedLoss

__all__ = ["SRModule"]


class SRModule(L.LightningModule):
    """Train a super-resolution generator with a pixel-space loss: L1, MSE, Charbonnier, SSIM, VGG, LPIPS, a
    :class:`~sr_lightning.losses.WeightedLoss` of several (each term is logged as ``<stage>/loss_<name>``),
    or any ``nn.Module`` called as ``loss(sr, hr)``.

    Validation and test steps return ``{"lr", "sr", "hr", "name"}`` so that callbacks
    (:class:`~sr_lightning.callbacks.SRMetrics`, :class:`~sr_lightning.callbacks.ImagePanel`) can score and
    show the images; the module itself only logs its loss. Under LightningCLI the optimizer and scheduler come
    from the standard top-level ``optimizer:`` and ``lr_scheduler:`` keys; used directly, the module trains with
    Adam at ``lr``.

    Args:
        generator: the network, (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with a ``scale`` attribute.
        loss: the pixel loss, ``nn.L1Loss()`` when not given (EDSR's choice, seed 004).
        lr: Adam's learning rate when no optimizer is configured from outside.

    Example:
        >>> import torch
        >>> from sr_lightning.models import EDSR
        >>> module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
        >>> module(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(self, generator: nn.Module, loss: nn.Module | None = None, lr: float = 1e-4) -> None:
        super().__init__()
        save_config(self, ["generator", "loss"])
        if not isinstance(getattr(generator, "scale", None), int):
            raise ValueError(f"generator {type(generator).__name__} needs an integer `scale` attribute.")
        self.generator = generator
        self.loss = loss if loss is not None else nn.L1Loss()
        self.lr = lr

    @property
    def scale(self) -> int:
        """The generator's upscaling factor (the metrics' border follows it)."""
        return int(self.generator.scale)

    def forward(self, lr: Tensor) -> Tensor:
        return self.generator(lr)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        data_scale = getattr(datamodule, "scale", None)
        if data_scale is not None and data_scale != self.scale:
            raise ValueError(
                f"The data scale ({data_scale}) differs from the generator's scale ({self.scale}); "
                "set data.scale and the generator's scale to the same value."
            )

    def compute_loss(self, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The total loss and its unweighted terms by name (empty unless the loss is a
        :class:`~sr_lightning.losses.WeightedLoss`). Subclasses add terms here."""
        if isinstance(self.loss, WeightedLoss):
            return self.loss.compute(sr, hr)
        return self.loss(sr, hr), {}

    def _log_loss(self, stage: str, total: Tensor, terms: dict[str, Tensor], batch_size: int) -> None:
        is_train = stage == "train"
        self.log(f"{stage}/loss", total, prog_bar=is_train, sync_dist=not is_train, batch_size=batch_size)
        for name, value in terms.items():
            self.log(f"{stage}/loss_{name}", value, sync_dist=not is_train, batch_size=batch_size)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        sr = self(batch["lr"])
        loss, terms = self.compute_loss(sr, batch["hr"])
        self._log_loss("train", loss, terms, sr.shape[0])
        return loss

    def _evaluation_step(self, batch: dict[str, Any], stage: str) -> dict[str, Any]:
        sr = self(batch["lr"])
        loss, terms = self.compute_loss(sr, batch["hr"])
        self._log_loss(stage, loss, terms, sr.shape[0])
        return {"lr": batch["lr"], "sr": sr.detach(), "hr": batch["hr"], "name": batch.get("name")}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        return self._evaluation_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        return self._evaluation_step(batch, "test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self(batch["lr"]).clamp(0, 1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.generator.parameters(), lr=self.lr)
