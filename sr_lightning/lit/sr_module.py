"""``SRModule``: the pixel-loss LightningModule that trains any generator."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
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
    show the images; the module itself only logs its loss. The optimizer and the learning-rate scheduler are
    callables of the parameters and of the optimizer, as in :class:`~sr_lightning.lit.SRGANModule` (one idiom
    for both): in YAML ``model.init_args.optimizer`` / ``scheduler`` with a ``class_path``, in Python
    ``functools.partial(torch.optim.Adam, lr=1e-3)``. With ``ema_decay`` an exponential moving average of the
    weights is kept, saved in checkpoints, and used for validation, test and predict.

    Args:
        generator: the network, (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with a ``scale`` attribute.
        loss: the pixel loss, ``nn.L1Loss()`` when not given (EDSR's choice, Abram & Sadik).
        optimizer: makes the generator's optimizer from its parameters; default Adam at 1e-4.
        scheduler: makes the learning-rate scheduler from the optimizer; default none.
        scheduler_interval: step the scheduler after every ``"epoch"`` or every ``"step"``.
        lr: deprecated, the learning rate of the default Adam: give ``optimizer`` instead.
        ema_decay: decay of the weights' moving average (e.g. 0.999); ``None`` keeps none.
        channels_last: speed option: see :class:`~sr_lightning.lit.SRBaseModule`.
        compile_generator: speed option: see :class:`~sr_lightning.lit.SRBaseModule`.
        compile_backend: speed option: see :class:`~sr_lightning.lit.SRBaseModule`.
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
        optimizer: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        lr: float | None = None,
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
        save_config(self, ["generator", "loss", "optimizer", "scheduler"])
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}.")
        if lr is not None:
            if optimizer is not None:
                raise ValueError(f"SRModule got lr={lr} and an optimizer: give the learning rate to the optimizer.")
            warnings.warn(
                "SRModule(lr=...) is deprecated: give optimizer=functools.partial(torch.optim.Adam, lr=...) "
                "(YAML: model.init_args.optimizer with class_path torch.optim.Adam).",
                DeprecationWarning,
                stacklevel=2,
            )
            optimizer = functools.partial(torch.optim.Adam, lr=lr)
        self.loss = loss if loss is not None else nn.L1Loss()
        self._optimizer_factory = optimizer
        self._scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval

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

    def configure_optimizers(self) -> Any:
        factory = self._optimizer_factory or functools.partial(torch.optim.Adam, lr=1e-4)
        optimizer = factory(self.generator.parameters())
        if self._scheduler_factory is None:
            return optimizer
        scheduler = self._scheduler_factory(optimizer)
        config = {"scheduler": scheduler, "interval": self.scheduler_interval}
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            config["monitor"] = "val/psnr_y"
        return {"optimizer": optimizer, "lr_scheduler": config}
