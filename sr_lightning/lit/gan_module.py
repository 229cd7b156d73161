"""``SRGANModule``: adversarial training of any generator against any discriminator, with manual optimization.

Per batch: one generator forward; the discriminator step (real HR vs the detached SR); then the generator step
(weighted content loss + adversarial weight x the generator's adversarial loss). Each step toggles its optimizer
(the other network is frozen), backpropagates with ``manual_backward`` (the loss scaler of ``16-mixed`` included),
clips its gradients after unscaling, and steps. Schedulers are stepped here, per batch or per epoch.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from sr_lightning.lit._hparams import save_config
from sr_lightning.lit.base import NonFiniteLossError, SRBaseModule, loss_with_terms
from sr_lightning.losses import AdversarialLoss

__all__ = ["NonFiniteLossError", "SRGANModule"]


class SRGANModule(SRBaseModule):
    """SRGAN-style training (Ledig et al. 2017; Tyagi; Wu) of any generator and discriminator.

    Args:
        generator: the network, (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with a ``scale`` attribute.
        discriminator: (B, 3, H, W) -> (B, 1) logits, e.g. :class:`~sr_lightning.models.SRGANDiscriminator`.
        content_loss: pixel/perceptual loss ``loss(sr, hr)``; a :class:`~sr_lightning.losses.WeightedLoss` logs
            each term. Default L1.
        adversarial_loss: the GAN formulation; default ``AdversarialLoss("vanilla")``.
        adversarial_weight: weight of the generator's adversarial loss (SRGAN and Wu: 1e-3).
        adversarial_ramp_steps: grow the adversarial weight linearly from 0 over this many generator steps after
            the pre-training (0: full weight at once).
        pretrain_steps: generator steps of content-only training first, the discriminator frozen and not stepped.
        discriminator_steps: discriminator updates per generator update (the generator steps after every this many
            discriminator updates, counted across epochs).
        optimizer_g: the generator's optimizer, e.g. ``torch.optim.Adam`` with ``lr``; default Adam(1e-4).
        optimizer_d: the discriminator's optimizer; default Adam(1e-4).
        scheduler_g: an optional LR scheduler of the generator's optimizer.
        scheduler_d: an optional LR scheduler of the discriminator's optimizer.
        scheduler_interval: step the schedulers after every batch (``"step"``) or every epoch (``"epoch"``).
        gradient_clip_norm_g: clip the generator's gradient norm to this (after AMP unscaling); None: no clipping.
        gradient_clip_norm_d: the same for the discriminator.
        max_consecutive_skips: stop with :class:`NonFiniteLossError` after this many steps in a row were skipped
            for a non-finite loss.
        generator_weights: warm start from a pixel-only run (see :class:`~sr_lightning.lit.SRBaseModule`).
        generator_weights_strict: ``False`` loads only the weights whose name and shape fit.
        ema_decay: keep an exponential moving average of the generator (used for validation, test and predict).
        channels_last: generator weights and inputs in channels-last memory format (see
            :class:`~sr_lightning.lit.SRBaseModule`); the discriminator keeps its own layout.
        compile_generator: ``torch.compile`` the generator's training forward; checkpoints keep their keys.
        compile_backend: the ``torch.compile`` backend (``"inductor"``, or ``"eager"``/``"aot_eager"``).

    ``trainer.global_step`` counts optimizer steps of both networks (Lightning's rule for manual optimization), so
    ``max_steps`` is about twice the number of batches; the module logs ``train/generator_steps`` too.

    Example:
        >>> import torch
        >>> from sr_lightning.models import SRResNet, SRGANDiscriminator
        >>> module = SRGANModule(SRResNet(scale=2, n_resblocks=1, n_feats=8), SRGANDiscriminator(n_feats=8))
        >>> module(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        content_loss: nn.Module | None = None,
        adversarial_loss: AdversarialLoss | None = None,
        adversarial_weight: float = 1e-3,
        adversarial_ramp_steps: int = 0,
        pretrain_steps: int = 0,
        discriminator_steps: int = 1,
        optimizer_g: OptimizerCallable | None = None,
        optimizer_d: OptimizerCallable | None = None,
        scheduler_g: LRSchedulerCallable | None = None,
        scheduler_d: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["step", "epoch"] = "epoch",
        gradient_clip_norm_g: float | None = None,
        gradient_clip_norm_d: float | None = None,
        max_consecutive_skips: int = 10,
        generator_weights: str | None = None,
        generator_weights_strict: bool = True,
        ema_decay: float | None = None,
        channels_last: bool = False,
        compile_generator: bool = False,
        compile_backend: str = "inductor",
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
        networks = ["generator", "discriminator", "content_loss", "adversarial_loss"]
        save_config(self, [*networks, "optimizer_g", "optimizer_d", "scheduler_g", "scheduler_d"])
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}.")
        if discriminator_steps < 1:
            raise ValueError(f"discriminator_steps must be at least 1, got {discriminator_steps!r}.")
        if adversarial_weight < 0 or adversarial_ramp_steps < 0 or pretrain_steps < 0:
            raise ValueError("adversarial_weight, adversarial_ramp_steps and pretrain_steps must not be negative.")
        self.automatic_optimization = False
        self.discriminator = discriminator
        self.content_loss = content_loss if content_loss is not None else nn.L1Loss()
        self.adversarial_loss = adversarial_loss if adversarial_loss is not None else AdversarialLoss("vanilla")
        self.adversarial_weight = adversarial_weight
        self.adversarial_ramp_steps = adversarial_ramp_steps
        self.pretrain_steps = pretrain_steps
        self.discriminator_steps = discriminator_steps
        self._optimizer_factories = (optimizer_g, optimizer_d)
        self._scheduler_factories = (scheduler_g, scheduler_d)
        self.scheduler_interval = scheduler_interval
        self.gradient_clip_norm_g = gradient_clip_norm_g
        self.gradient_clip_norm_d = gradient_clip_norm_d
        # Counters live in the state dict, so checkpoints restore them exactly (the skip counters: SRBaseModule).
        for counter in ("generator_steps", "discriminator_updates"):
            self.register_buffer(counter, torch.zeros((), dtype=torch.long))

    # ----------------------------------------------------------------------------------------------- losses
    def compute_loss(self, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The content loss and its unweighted terms (validation logs these as ``val/loss``)."""
        return loss_with_terms(self.content_loss, sr, hr)

    def current_adversarial_weight(self) -> float:
        """The adversarial weight at this generator step: 0 during pre-training, then the (ramped) weight."""
        adversarial_steps = int(self.generator_steps) - self.pretrain_steps
        if adversarial_steps < 0:
            return 0.0
        if self.adversarial_ramp_steps == 0:
            return self.adversarial_weight
        return self.adversarial_weight * min(1.0, (adversarial_steps + 1) / self.adversarial_ramp_steps)

    # ------------------------------------------------------------------------------------------- training
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        lr, hr = batch["lr"], batch["hr"]
        pretraining = int(self.generator_steps) < self.pretrain_steps
        # Counted over the run (a buffer), not by batch_idx: an epoch shorter than discriminator_steps batches still
        # reaches a generator step, and the cadence carries across epochs and checkpoints.
        step_generator = pretraining or (int(self.discriminator_updates) + 1) % self.discriminator_steps == 0
        with torch.set_grad_enabled(step_generator):
            sr = self(lr)  # the only generator forward of this batch (compiled / channels-last when enabled)
        content, terms = self.compute_loss(sr, hr) if step_generator else (None, {})
        if not self._all_finite(sr, content):
            return self._skip("the generator output or content loss", lr.shape[0])
        if not pretraining and not self._discriminator_step(sr.detach(), hr):
            return self._skip("the discriminator loss", lr.shape[0])
        if step_generator and not self._generator_step(sr, hr, content, terms, pretraining):
            return self._skip("the generator's adversarial loss", lr.shape[0])
        self.consecutive_skips.zero_()
        if self.scheduler_interval == "step":
            self._step_schedulers(generator=step_generator, discriminator=not pretraining)
        self.log("train/skipped_steps", self.skipped_steps.float(), batch_size=lr.shape[0])

    def _discriminator_step(self, fake: Tensor, real: Tensor) -> bool:
        _, optimizer = self.optimizers()
        self.toggle_optimizer(optimizer)
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        loss = self.adversarial_loss.discriminator_loss(real_logits, fake_logits)
        finite = bool(torch.isfinite(loss))
        if finite:
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            optimizer.step()
            self.discriminator_updates += 1
            batch_size = real.shape[0]
            self.log("train/loss_d", loss.detach(), prog_bar=self._progress_bar_shown, batch_size=batch_size)
            self.log("train/d_real", torch.sigmoid(real_logits.detach().float()).mean(), batch_size=batch_size)
            self.log("train/d_fake", torch.sigmoid(fake_logits.detach().float()).mean(), batch_size=batch_size)
        self.untoggle_optimizer(optimizer)
        return finite

    def _generator_step(
        self, sr: Tensor, hr: Tensor, content: Tensor, terms: dict[str, Tensor], pretraining: bool
    ) -> bool:
        optimizer, _ = self.optimizers()
        self.toggle_optimizer(optimizer)
        weight = self.current_adversarial_weight()
        loss = content
        if not pretraining:
            real_logits = self.discriminator(hr).detach() if self.adversarial_loss.needs_real_for_generator else None
            adversarial = self.adversarial_loss.generator_loss(self.discriminator(sr), real_logits)
            loss = content + weight * adversarial
        finite = bool(torch.isfinite(loss))
        if finite and not pretraining:
            self.log("train/loss_g_adv", adversarial.detach(), batch_size=sr.shape[0])
        if finite:
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            optimizer.step()
            self.generator_steps += 1
            self.update_ema()
            batch_size = sr.shape[0]
            self.log("train/loss_g", loss.detach(), prog_bar=self._progress_bar_shown, batch_size=batch_size)
            self.log("train/loss_content", content.detach(), batch_size=batch_size)
            for name, value in terms.items():
                self.log(f"train/loss_{name}", value.detach(), batch_size=batch_size)
            self.log("train/adversarial_weight", weight, batch_size=batch_size)
            self.log("train/generator_steps", self.generator_steps.float(), batch_size=batch_size)
        self.untoggle_optimizer(optimizer)
        return finite

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip each network's gradients; Lightning calls this after the AMP scaler unscaled them."""
        generator_optimizer, _ = self.optimizers(use_pl_optimizer=False)
        is_generator = optimizer is generator_optimizer
        max_norm = self.gradient_clip_norm_g if is_generator else self.gradient_clip_norm_d
        network = self.generator if is_generator else self.discriminator
        if max_norm is not None:
            norm = nn.utils.clip_grad_norm_(network.parameters(), max_norm)
            self.log(f"train/grad_norm_{'g' if is_generator else 'd'}", norm)

    # --------------------------------------------------------------------------------- optimizers, schedulers
    def _step_schedulers(self, generator: bool, discriminator: bool) -> None:
        """Step the scheduler of each network that was stepped (none for the discriminator during pre-training)."""
        schedulers = self.lr_schedulers()
        generator_optimizer, _ = self.optimizers(use_pl_optimizer=False)
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            if generator if scheduler.optimizer is generator_optimizer else discriminator:
                scheduler.step()

    def on_fit_start(self) -> None:
        if len(self.trainer.optimizers) != 2:
            raise ValueError(
                f"SRGANModule needs its two optimizers (generator, discriminator) but the trainer has "
                f"{len(self.trainer.optimizers)}: a top-level `optimizer:`/`lr_scheduler:` in the config replaces "
                "them. "
                "Configure model.init_args.optimizer_g/optimizer_d and scheduler_g/scheduler_d instead."
            )

    def on_train_epoch_start(self) -> None:
        self._updates_at_epoch_start = (int(self.generator_steps), int(self.discriminator_updates))

    def on_train_epoch_end(self) -> None:
        optimizer_g, optimizer_d = self.optimizers()
        self.log("train/lr_g", optimizer_g.param_groups[0]["lr"])  # the rate this epoch trained with
        self.log("train/lr_d", optimizer_d.param_groups[0]["lr"])
        if self.scheduler_interval == "epoch":
            g_start, d_start = getattr(self, "_updates_at_epoch_start", (0, 0))
            self._step_schedulers(
                generator=int(self.generator_steps) > g_start, discriminator=int(self.discriminator_updates) > d_start
            )

    def configure_optimizers(self) -> Any:
        factory_g, factory_d = self._optimizer_factories
        optimizer_g = factory_g(self.generator.parameters()) if factory_g else _adam(self.generator.parameters())
        optimizer_d = (
            factory_d(self.discriminator.parameters()) if factory_d else _adam(self.discriminator.parameters())
        )
        optimizers = [optimizer_g, optimizer_d]
        schedulers = []
        for factory, optimizer in zip(self._scheduler_factories, optimizers, strict=True):
            if factory is not None:
                scheduler = factory(optimizer)
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    raise ValueError("ReduceLROnPlateau needs a monitored metric; SRGANModule steps schedulers itself.")
                schedulers.append(scheduler)
        return optimizers, schedulers


def _adam(parameters: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(parameters, lr=1e-4, betas=(0.9, 0.999))
