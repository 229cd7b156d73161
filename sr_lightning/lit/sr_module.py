"""``SRModule``: the pixel-loss LightningModule that trains any generator."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sr_lightning.lit._hparams import save_config
from sr_lightning.lit.base import SRBaseModule, loss_with_terms

__all__ = ["SRModule"]


class SRModule(SRBaseModule):
    """Train a super-resolution generator with a pixel-space loss: L1, MSE, Charbonnier, SSIM, VGG, LPIPS, a
    :class:`~sr_lightning.losses.WeightedLoss` of several (each term is logged as ``<stage>/loss_<name>``),
    or any ``nn.Module`` called as ``loss(sr, hr)``.

    Validation and test steps return ``{"lr", "sr", "hr", "name"}`` so that callbacks
    (:class:`~sr_lightning.callbacks.SRMetrics`, :class:`~sr_lightning.callbacks.ImagePanel`) can score and
    show the images; the module itself only logs its loss. Under LightningCLI the optimizer and scheduler come
    from the standard top-level ``optimizer:`` and ``lr_scheduler:`` keys; used directly, the module trains with
    Adam at ``lr``. With ``ema_decay`` an exponential moving average of the weights is kept, saved in checkpoints,
    and used for validation, test and predict.

    Args:
        generator: the network, (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with a ``scale`` attribute.
        loss: the pixel loss, ``nn.L1Loss()`` when not given (EDSR's choice, Abram & Sadik).
        lr: Adam's learning rate when no optimizer is configured from outside.
        ema_decay: decay of the weights' moving average (e.g. 0.999); ``None`` keeps none.
        channels_last: generator weights and inputs in channels-last memory format (see :class:`SRBaseModule`).
        compile_generator: ``torch.compile`` the generator's training forward; checkpoints keep their keys.
        compile_backend: the ``torch.compile`` backend (``"inductor"``, or ``"eager"``/``"aot_eager"``).
        max_consecutive_skips: a step whose output or loss is not finite is skipped (nothing is stepped,
            ``train/skipped_steps`` counts it); this many in a row stop the run with a ``NonFiniteLossError``.
        generator_weights: warm start: a checkpoint, state dict, ``.safetensors`` file or pretrained model name
            whose generator weights the training starts from (see :class:`~sr_lightning.lit.SRBaseModule`).
        generator_weights_strict: ``False`` loads only the weights whose name and shape fit (a x4 model from x2
            weights: all but the upsampling tail).

    Example:
        >>> import torch
        >>> from sr_lightning.models import EDSR
        >>> module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
        >>> module(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(
        self,
        generator: nn.Module,
        loss: nn.Module | None = None,
        lr: float = 1e-4,
        ema_decay: float | None = None,
        channels_last: bool = False,
        compile_generator: bool = False,
        compile_backend: str = "inductor",
        max_consecutive_skips: int = 10,
        generator_weights: str | None = None,
        generator_weights_strict: bool = True,
    ) -> None:
        super().__init__(
            generator,
            ema_decay=ema_decay,
            channels_last=channels_last,
            compile_generator=compile_generator,
            compile_backend=compile_backend,
            max_consecutive_skips=max_consecutive_skips,
            generator_weights=generator_weights,
            generator_weights_strict=generator_weights_strict,
        )
        save_config(self, ["generator", "loss"])
        self.loss = loss if loss is not None else nn.L1Loss()
        self.lr = lr

    def compute_loss(self, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The total loss and its unweighted terms by name (empty unless the loss is a
        :class:`~sr_lightning.losses.WeightedLoss`). Subclasses add terms here."""
        return loss_with_terms(self.loss, sr, hr)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        sr = self(batch["lr"])
        loss, terms = self.compute_loss(sr, batch["hr"])
        if not self._all_finite(sr, loss):
            self._skip("the generator output or the loss", sr.shape[0])
            return None  # Lightning skips the backward pass and the optimizer step
        self.consecutive_skips.zero_()
        self._log_loss("train", loss, terms, sr.shape[0])
        return loss

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        self.update_ema()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.generator.parameters(), lr=self.lr)
