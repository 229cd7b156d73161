"""``SRGANModule``: adversarial training of any generator against any discriminator, with manual optimization.

Per batch: one generator forward; the discriminator step (real HR vs the detached SR); then the generator step
(weighted content loss + adversarial weight x the generator's adversarial loss). Each step toggles its optimizer
(the other network is frozen), backpropagates with ``manual_backward`` (the loss scaler of ``16-mixed`` included),
clips its gradients after unscaling, and steps. Schedulers are stepped here, per batch or per epoch.

To change the GAN's losses, override one of two public hooks; the optimizer toggling, backward, clipping, stepping,
non-finite checks, counters and logging stay in the module:

- :meth:`SRGANModule.discriminator_loss` ``(real, fake, real_logits, fake_logits) -> (loss, terms)``: the
  discriminator's loss, and named extra terms that the module logs as ``train/loss_d_<name>``. With the class
  attribute ``discriminator_real_requires_grad = True``, ``real`` is a detached copy of the HR batch that requires
  grad, so a gradient penalty can differentiate ``real_logits`` with respect to it.
- :meth:`SRGANModule.generator_adversarial_loss` ``(sr, hr, fake_logits, real_logits) -> loss``: the generator's
  adversarial term, which the module weights by :meth:`~SRGANModule.current_adversarial_weight` and adds to the
  content loss.

An R1 gradient penalty (Mescheder et al. 2018), ``r1_gamma / 2 * E[|grad_x D(x)|^2]`` on the real images::

    class R1SRGANModule(SRGANModule):
        discriminator_real_requires_grad = True

        def __init__(self, generator: nn.Module, discriminator: nn.Module, r1_gamma: float = 10.0, **kwargs: Any):
            super().__init__(generator, discriminator, **kwargs)
            self.r1_gamma = r1_gamma

        def discriminator_loss(self, real, fake, real_logits, fake_logits):
            loss, terms = super().discriminator_loss(real, fake, real_logits, fake_logits)
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            r1 = grad.float().pow(2).flatten(1).sum(1).mean()
            return loss + self.r1_gamma / 2 * r1, {**terms, "adv": loss, "r1": r1}

It logs ``train/loss_d`` (the total), ``train/loss_d_adv`` and ``train/loss_d_r1``;
``examples/notebooks/03_gan_r1.ipynb`` trains it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

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
        channels_last: speed option: see :class:`~sr_lightning.lit.SRBaseModule`; the discriminator keeps its own
            layout.
        compile_generator: speed option: see :class:`~sr_lightning.lit.SRBaseModule`.
        compile_backend: speed option: see :class:`~sr_lightning.lit.SRBaseModule`.

    ``trainer.global_step`` counts optimizer steps of both networks (Lightning's rule for manual optimization), so
    ``max_steps`` is about twice the number of batches; the module logs ``train/generator_steps`` too.

    Subclasses change the GAN's losses by overriding :meth:`discriminator_loss` (a gradient penalty, feature
    matching; its extra terms are logged as ``train/loss_d_<name>``) and :meth:`generator_adversarial_loss`, and set
    :attr:`discriminator_real_requires_grad` to differentiate the discriminator with respect to the real images;
    the module docstring has an R1 penalty as an example. A batch whose loss or term is NaN or infinite is skipped
    (nothing is stepped) and counted in ``train/skipped_steps``, whichever hook returned it.

    Example:
        >>> import torch
        >>> from sr_lightning.models import SRResNet, SRGANDiscriminator
        >>> module = SRGANModule(SRResNet(scale=2, n_resblocks=1, n_feats=8), SRGANDiscriminator(n_feats=8))
        >>> module(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 16, 16])
        >>> real, fake = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
        >>> loss, terms = module.discriminator_loss(real, fake, module.discriminator(real), module.discriminator(fake))
        >>> loss.shape, terms
        (torch.Size([]), {})
    """

    #: Pass :meth:`discriminator_loss` the real images as a leaf tensor that requires grad (a detached copy of the
    #: HR batch), ``real_logits`` computed from it: set it to ``True`` in a subclass for a gradient penalty (R1).
    discriminator_real_requires_grad: ClassVar[bool] = False

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

    def discriminator_loss(
        self, real: Tensor, fake: Tensor, real_logits: Tensor, fake_logits: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The discriminator's loss and named extra terms: override it to change the loss (a gradient penalty,
        feature matching); the module backpropagates, steps, checks and logs.

        Called in the discriminator step, with only the discriminator's parameters requiring grad. Under
        ``16-mixed`` a ``torch.autograd.grad`` taken here runs without the loss scaler, so small gradients can underflow
        in float16: use ``bf16-mixed`` or 32-bit precision with gradient penalties.

        Args:
            real: the HR batch; with :attr:`discriminator_real_requires_grad`, a detached copy of it that requires
                grad (``torch.autograd.grad(real_logits.sum(), real, create_graph=True)`` is its R1 gradient).
            fake: the generator's SR batch, detached from the generator.
            real_logits: ``self.discriminator(real)``, (B, 1), computed before ``fake_logits``.
            fake_logits: ``self.discriminator(fake)``.

        Returns:
            The scalar loss to minimise (logged as ``train/loss_d``) and scalar terms by name, each logged as
            ``train/loss_d_<name>``. Default: ``self.adversarial_loss.discriminator_loss(real_logits, fake_logits)``
            and no terms. When the loss or a term is NaN or infinite, the batch is skipped: nothing is stepped.
            The module raises ``ValueError`` when the loss or a term has more than one element.
        """
        return self.adversarial_loss.discriminator_loss(real_logits, fake_logits), {}

    def generator_adversarial_loss(
        self, sr: Tensor, hr: Tensor, fake_logits: Tensor, real_logits: Tensor | None
    ) -> Tensor:
        """The generator's adversarial loss: override it to change it; the module adds it to the content loss with
        the weight of :meth:`current_adversarial_weight` (logged as ``train/loss_g_adv``) and steps.

        Called in the generator step after the pre-training, with only the generator's parameters requiring grad.

        Args:
            sr: the generator's output, with gradient to the generator.
            hr: the HR batch.
            fake_logits: ``self.discriminator(sr)``, with gradient to the generator.
            real_logits: ``self.discriminator(hr)``, detached, when ``self.adversarial_loss.needs_real_for_generator``
                (the relativistic mode), else ``None``.

        Returns:
            The scalar loss; default ``self.adversarial_loss.generator_loss(fake_logits, real_logits)``. When the
            weighted total is NaN or infinite, the batch is skipped: the generator is not stepped.
        """
        return self.adversarial_loss.generator_loss(fake_logits, real_logits)

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
            return self._skip("the discriminator loss or one of its terms", lr.shape[0])
        if step_generator and not self._generator_step(sr, hr, content, terms, pretraining):
            return self._skip("the generator's adversarial loss", lr.shape[0])
        self.consecutive_skips.zero_()
        if self.scheduler_interval == "step":
            self._step_schedulers(generator=step_generator, discriminator=not pretraining)
        self.log("train/skipped_steps", self.skipped_steps.float(), batch_size=lr.shape[0])

    def _discriminator_step(self, fake: Tensor, real: Tensor) -> bool:
        _, optimizer = self.optimizers()
        self.toggle_optimizer(optimizer)
        if self.discriminator_real_requires_grad:
            real = real.detach().requires_grad_(True)
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        loss, terms = self.discriminator_loss(real, fake, real_logits, fake_logits)
        self._check_hook_output("discriminator_loss", loss, terms)
        finite = self._all_finite(loss, *terms.values())
        if finite:
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            optimizer.step()
            self.discriminator_updates += 1
            batch_size = real.shape[0]
            self.log("train/loss_d", loss.detach(), prog_bar=self._progress_bar_shown, batch_size=batch_size)
            self.log("train/d_real", torch.sigmoid(real_logits.detach().float()).mean(), batch_size=batch_size)
            self.log("train/d_fake", torch.sigmoid(fake_logits.detach().float()).mean(), batch_size=batch_size)
            for name, value in terms.items():
                self.log(f"train/loss_d_{name}", value.detach(), batch_size=batch_size)
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
            adversarial = self.generator_adversarial_loss(sr, hr, self.discriminator(sr), real_logits)
            self._check_hook_output("generator_adversarial_loss", adversarial)
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

    def _check_hook_output(self, hook: str, loss: Tensor, terms: dict[str, Tensor] | None = None) -> None:
        """Raise when a loss hook returned anything but one-element tensors (backward and logging need them)."""
        named = [("its loss", loss), *((f"its term {name!r}", value) for name, value in (terms or {}).items())]
        for what, value in named:
            if not isinstance(value, Tensor) or value.numel() != 1:
                got = f"shaped {tuple(value.shape)}" if isinstance(value, Tensor) else f"a {type(value).__name__}"
                raise ValueError(
                    f"{type(self).__name__}.{hook} must return one-element tensors, but {what} is {got}: reduce it "
                    "in the override (e.g. with .mean())."
                )

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
