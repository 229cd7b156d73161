"""SRGANModule: the two-optimizer step (order, isolation, losses by hand), schedulers, clipping, NaN skipping,
the adversarial schedule, warm start and precision."""

from __future__ import annotations

import copy
from collections.abc import Container
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn

from sr_lightning import SRDataModule, SRMetrics, SRModule
from sr_lightning.lit import NonFiniteLossError, SRGANModule
from sr_lightning.losses import AdversarialLoss, wu_attention_srgan_losses
from sr_lightning.models import SRGANDiscriminator, SRResNet


@pytest.fixture
def tiny_data(tmp_path: Path, write_images) -> SRDataModule:
    train = write_images(tmp_path / "train")
    val = write_images(tmp_path / "val", count=2, size=(36, 44))
    return SRDataModule(scale=2, train_dir=str(train), val_dir=str(val), patch_size=24, batch_size=2, repeat=2)


def _generator(seed: int = 0) -> SRResNet:
    torch.manual_seed(seed)
    return SRResNet(scale=2, n_resblocks=1, n_feats=8)


def _discriminator(seed: int = 1) -> SRGANDiscriminator:
    torch.manual_seed(seed)
    return SRGANDiscriminator(n_feats=4, pool_size=1)


def _params(net: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _same(a: list[Tensor], b: list[Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _sgd(lr: float):
    return lambda params: torch.optim.SGD(params, lr=lr)


class _Recorder(Callback):
    """The training batches, and both networks' weights at every optimizer step (before it) and batch end."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Tensor]] = []
        self.at_step: list[tuple[str, list[Tensor], list[Tensor], dict[str, Tensor]]] = []
        self.at_batch_end: list[tuple[list[Tensor], list[Tensor]]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches.append({k: v.clone() for k, v in batch.items() if isinstance(v, Tensor)})

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        which = "g" if optimizer is pl_module.optimizers(use_pl_optimizer=False)[0] else "d"
        d_state = {k: v.clone() for k, v in pl_module.discriminator.state_dict().items()}
        self.at_step.append((which, _params(pl_module.generator), _params(pl_module.discriminator), d_state))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.at_batch_end.append((_params(pl_module.generator), _params(pl_module.discriminator)))


def _fit(tiny_trainer, data: SRDataModule, module: SRGANModule, **trainer_args) -> tuple[L.Trainer, _Recorder]:
    recorder = _Recorder()
    callbacks = [recorder, *trainer_args.pop("callbacks", [])]
    defaults = dict(max_epochs=1, limit_train_batches=1, limit_val_batches=0)
    trainer = tiny_trainer(**{**defaults, **trainer_args}, callbacks=callbacks)
    trainer.fit(module, datamodule=data)
    return trainer, recorder


# ------------------------------------------------------------------------------------------------ a whole fit
def test_fast_dev_run_trains_both_networks_and_logs_the_gan_metrics(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(_generator(), _discriminator())
    g0, d0 = _params(module.generator), _params(module.discriminator)
    trainer = tiny_trainer(fast_dev_run=True, callbacks=[SRMetrics()])
    trainer.fit(module, datamodule=tiny_data)
    assert not _same(g0, _params(module.generator)) and not _same(d0, _params(module.discriminator))
    metrics = trainer.callback_metrics
    for key in ("loss_d", "loss_g", "loss_g_adv", "loss_content", "d_real", "d_fake", "adversarial_weight"):
        assert torch.isfinite(metrics[f"train/{key}"]), key
    assert 0 < metrics["train/d_real"] < 1 and 0 < metrics["train/d_fake"] < 1
    assert metrics["train/adversarial_weight"].item() == pytest.approx(1e-3)
    assert torch.isfinite(metrics["val/psnr_y"])
    # One batch: one update of each network; Lightning's global step counts both optimizers' steps.
    assert (int(module.generator_steps), int(module.discriminator_updates), trainer.global_step) == (1, 1, 2)


# ------------------------------------------------------------------------- the losses and gradients by hand
def test_generator_loss_reproduces_seed_003_with_the_updated_discriminator(tiny_trainer, tiny_data) -> None:
    recipe = wu_attention_srgan_losses()
    module = SRGANModule(
        _generator(),
        _discriminator(),
        content_loss=recipe.content,
        adversarial_loss=recipe.adversarial,
        adversarial_weight=recipe.adversarial_weight,
    )
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    trainer, recorder = _fit(tiny_trainer, tiny_data, module)
    (which_d, _, _, _), (which_g, _, d_at_g_step, d1_state) = recorder.at_step
    assert (which_d, which_g) == ("d", "g")  # the discriminator steps first
    assert not _same(_params(d0), d_at_g_step)  # ... so the generator step sees the updated discriminator
    d1 = copy.deepcopy(d0)
    d1.load_state_dict(d1_state)
    batch = recorder.batches[0]
    with torch.no_grad():
        sr = g0(batch["lr"])
        p_real, p_fake = torch.sigmoid(d0(batch["hr"])).mean(), torch.sigmoid(d0(sr)).mean()
        l1 = (sr - batch["hr"]).abs().mean()
        adversarial = (1 - torch.sigmoid(d1(sr))).mean()  # mean(1 - D(G(z))), D giving probabilities
    logged = trainer.callback_metrics
    assert logged["train/loss_g"].item() == pytest.approx((l1 + 0.001 * adversarial).item(), abs=1e-5)
    assert logged["train/loss_g_adv"].item() == pytest.approx(adversarial.item(), abs=1e-6)
    assert logged["train/loss_content"].item() == pytest.approx(l1.item(), abs=1e-6)
    assert logged["train/loss_l1"].item() == pytest.approx(l1.item(), abs=1e-6)
    # The discriminator step, on the weights before it: srgan form 1 - mean(p_real) + mean(p_fake).
    assert logged["train/d_real"].item() == pytest.approx(p_real.item(), abs=1e-6)
    assert logged["train/d_fake"].item() == pytest.approx(p_fake.item(), abs=1e-6)
    assert logged["train/loss_d"].item() == pytest.approx((1 - p_real + p_fake).item(), abs=1e-6)


def test_generator_gradient_includes_the_weighted_adversarial_term(tiny_trainer, tiny_data) -> None:
    g0, d0 = _generator(), _discriminator()

    def run(weight: float) -> tuple[list[Tensor], _Recorder]:
        module = SRGANModule(copy.deepcopy(g0), copy.deepcopy(d0), adversarial_weight=weight, optimizer_g=_sgd(1.0))
        _, recorder = _fit(tiny_trainer, tiny_data, module)
        return _params(module.generator), recorder

    with_adv, recorder = run(0.1)
    without, _ = run(0.0)
    assert _same(with_adv, run(0.1)[0])  # the same run twice: bit-identical
    # SGD with lr 1: the two runs differ by exactly 0.1 x the adversarial gradient (vanilla: BCE(D(G(lr)), 1)).
    d1 = copy.deepcopy(d0)
    d1.load_state_dict(recorder.at_step[1][3])
    generator = copy.deepcopy(g0)
    adversarial = F.binary_cross_entropy_with_logits(
        logits := d1(generator(recorder.batches[0]["lr"])), torch.ones_like(logits)
    )
    grads = torch.autograd.grad(adversarial, list(generator.parameters()))
    for a, b, w0, grad in zip(with_adv, without, g0.parameters(), grads, strict=True):
        # a - b cancels the content step (up to 0.33 on tail.bias): the float32 sums of its ~1152 per-pixel terms
        # round differently in the combined and the content-only backward, by up to ~1e-4 of that step.
        atol = 1e-4 * (b - w0.detach()).abs().max().item() + 1e-7
        torch.testing.assert_close(a - b, -0.1 * grad, atol=atol, rtol=1e-3)
    assert max(g.abs().max().item() for g in grads) > 1e-4  # ... and that gradient is not negligible


# ---------------------------------------------------------------------------------- each step's isolation
def test_discriminator_step_leaves_the_generator_and_generator_step_the_discriminator(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(_generator(), _discriminator(), adversarial_weight=0.1)
    g0, d0 = _params(module.generator), _params(module.discriminator)
    _, recorder = _fit(tiny_trainer, tiny_data, module)
    (_, g_at_d, d_at_d, _), (_, g_at_g, d_at_g, _) = recorder.at_step
    g_end, d_end = recorder.at_batch_end[0]
    assert _same(g_at_d, g0) and _same(d_at_d, d0)  # nothing moved before the first step
    assert _same(g_at_g, g0) and not _same(d_at_g, d0)  # the discriminator step moved D only
    assert _same(d_end, d_at_g) and not _same(g_end, g0)  # the generator step moved G only
    for param in [*module.generator.parameters(), *module.discriminator.parameters()]:
        assert param.requires_grad  # untoggled after both steps


def test_pretraining_and_extra_discriminator_steps_move_one_network_only(tiny_trainer, tiny_data) -> None:
    # Pre-training: the discriminator is not run at all, so its buffers (BatchNorm statistics) stay too.
    module = SRGANModule(_generator(), _discriminator(), pretrain_steps=1)
    g0, d0 = _params(module.generator), copy.deepcopy(module.discriminator.state_dict())
    trainer, _ = _fit(tiny_trainer, tiny_data, module)
    assert not _same(g0, _params(module.generator))
    assert all(torch.equal(v, module.discriminator.state_dict()[k]) for k, v in d0.items())
    assert (int(module.generator_steps), int(module.discriminator_updates)) == (1, 0)
    assert trainer.callback_metrics["train/adversarial_weight"].item() == 0.0
    assert "train/loss_d" not in trainer.callback_metrics
    # Two discriminator steps per generator step: batch 0 only steps the discriminator.
    module = SRGANModule(_generator(), _discriminator(), discriminator_steps=2)
    g0, d0 = _params(module.generator), _params(module.discriminator)
    _, recorder = _fit(tiny_trainer, tiny_data, module, limit_train_batches=2)
    (g_after_0, d_after_0), (g_after_1, d_after_1) = recorder.at_batch_end
    assert _same(g0, g_after_0) and not _same(d0, d_after_0)
    assert not _same(g0, g_after_1) and not _same(d_after_0, d_after_1)
    assert [which for which, *_ in recorder.at_step] == ["d", "d", "g"]
    assert (int(module.generator_steps), int(module.discriminator_updates)) == (1, 2)
    # The cadence counts discriminator updates across epochs: one-batch epochs still reach a generator step.
    module = SRGANModule(_generator(), _discriminator(), discriminator_steps=2)
    _, recorder = _fit(tiny_trainer, tiny_data, module, max_epochs=3)
    assert [which for which, *_ in recorder.at_step] == ["d", "d", "g", "d"]


# ------------------------------------------------------------------------------------ optimizers, schedulers
@pytest.mark.parametrize(("interval", "batches", "epochs"), [("step", 2, 1), ("epoch", 1, 2)])
def test_schedulers_are_stepped_per_batch_or_per_epoch(tiny_trainer, tiny_data, interval, batches, epochs) -> None:
    module = SRGANModule(
        _generator(),
        _discriminator(),
        optimizer_g=lambda p: torch.optim.Adam(p, lr=2e-4),
        scheduler_g=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
        scheduler_d=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1),
        scheduler_interval=interval,
    )
    _fit(tiny_trainer, tiny_data, module, limit_train_batches=batches, max_epochs=epochs)
    optimizer_g, optimizer_d = module.optimizers(use_pl_optimizer=False)
    assert isinstance(optimizer_g, torch.optim.Adam) and isinstance(optimizer_d, torch.optim.Adam)
    assert optimizer_g.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.25)
    assert optimizer_d.param_groups[0]["lr"] == pytest.approx(1e-4 * 0.01)  # the default Adam(1e-4)
    assert int(module.generator_steps) == 2


@pytest.mark.parametrize(("interval", "batches", "epochs"), [("step", 3, 1), ("epoch", 1, 3)])
def test_a_scheduler_steps_only_with_its_network(tiny_trainer, tiny_data, interval, batches, epochs) -> None:
    # Two pre-training generator steps (the discriminator is not stepped, so neither is its scheduler), then one
    # adversarial step: the generator's rate halves three times, the discriminator's once.
    halve = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    module = SRGANModule(
        _generator(),
        _discriminator(),
        pretrain_steps=2,
        scheduler_g=halve,
        scheduler_d=halve,
        scheduler_interval=interval,
    )
    _fit(tiny_trainer, tiny_data, module, limit_train_batches=batches, max_epochs=epochs)
    optimizer_g, optimizer_d = module.optimizers(use_pl_optimizer=False)
    assert (int(module.generator_steps), int(module.discriminator_updates)) == (3, 1)
    assert optimizer_g.param_groups[0]["lr"] == pytest.approx(1e-4 / 8)
    assert optimizer_d.param_groups[0]["lr"] == pytest.approx(1e-4 / 2)


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="scheduler_interval"):
        SRGANModule(_generator(), _discriminator(), scheduler_interval="batch")
    with pytest.raises(ValueError, match="discriminator_steps"):
        SRGANModule(_generator(), _discriminator(), discriminator_steps=0)
    with pytest.raises(ValueError, match="must not be negative"):
        SRGANModule(_generator(), _discriminator(), adversarial_weight=-1.0)
    plateau = SRGANModule(
        _generator(), _discriminator(), scheduler_g=lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    )
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        plateau.configure_optimizers()


@pytest.mark.parametrize("network", ["generator", "discriminator"])
def test_gradient_clipping_bounds_the_sgd_step(tiny_trainer, tiny_data, network: str) -> None:
    g0, d0 = _generator(), _discriminator()
    suffix = network[0]

    def change(clip: float | None) -> tuple[float, L.Trainer]:
        module = SRGANModule(
            copy.deepcopy(g0),
            copy.deepcopy(d0),
            optimizer_g=_sgd(1.0),
            optimizer_d=_sgd(1.0),
            **{f"gradient_clip_norm_{suffix}": clip},
        )
        trainer, _ = _fit(tiny_trainer, tiny_data, module)
        before = _params(g0 if network == "generator" else d0)
        after = _params(getattr(module, network))
        return torch.cat([(a - b).flatten() for a, b in zip(after, before, strict=True)]).norm().item(), trainer

    unclipped, trainer = change(None)
    assert f"train/grad_norm_{suffix}" not in trainer.callback_metrics
    clipped, trainer = change(1e-3)
    assert unclipped > 1e-2  # with SGD(lr=1) the step is the gradient: its norm, unclipped
    assert clipped <= 1e-3 + 1e-9 and clipped == pytest.approx(1e-3, rel=1e-3)
    assert trainer.callback_metrics[f"train/grad_norm_{suffix}"].item() == pytest.approx(unclipped, rel=1e-4)


# ------------------------------------------------------------------------------------- non-finite losses
class _NaNGenerator(nn.Module):
    """A tiny SRResNet whose output is NaN at the chosen forward calls (counted from 0)."""

    def __init__(self, nan_calls: Container[int]) -> None:
        super().__init__()
        self.net = _generator()
        self.scale = 2
        self.nan_calls = nan_calls
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        nan = self.calls in self.nan_calls
        self.calls += 1
        return out * float("nan") if nan else out


class _Counters(Callback):
    def __init__(self) -> None:
        self.consecutive: list[int] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.consecutive.append(int(pl_module.consecutive_skips))


def test_a_non_finite_batch_is_skipped_without_touching_either_network(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(_NaNGenerator(nan_calls={1, 2}), _discriminator())
    counters = _Counters()
    trainer, recorder = _fit(tiny_trainer, tiny_data, module, limit_train_batches=4, callbacks=[counters])
    ends = recorder.at_batch_end
    assert _same(ends[0][0], ends[2][0]) and _same(ends[0][1], ends[2][1])  # batches 1 and 2 changed nothing
    assert not _same(ends[2][0], ends[3][0]) and not _same(ends[2][1], ends[3][1])
    assert counters.consecutive == [0, 1, 2, 0]  # a finite step resets the run of skips
    assert (int(module.skipped_steps), int(module.generator_steps), int(module.discriminator_updates)) == (2, 2, 2)
    assert trainer.callback_metrics["train/skipped_steps"].item() == 2.0


def test_too_many_consecutive_skips_stop_the_fit(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(_NaNGenerator(nan_calls=range(100)), _discriminator(), max_consecutive_skips=2)
    with pytest.raises(NonFiniteLossError, match=r"2 consecutive.*generator output"):
        _fit(tiny_trainer, tiny_data, module, limit_train_batches=4)
    assert (int(module.skipped_steps), int(module.generator_steps)) == (2, 0)

    class NaNDiscriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x: Tensor) -> Tensor:
            return x.mean((1, 2, 3)).unsqueeze(1) * float("nan") + self.bias

    module = SRGANModule(_generator(), NaNDiscriminator(), max_consecutive_skips=1, optimizer_d=_sgd(0.1))
    g0 = _params(module.generator)
    with pytest.raises(NonFiniteLossError, match=r"1 consecutive.*discriminator loss"):
        _fit(tiny_trainer, tiny_data, module)
    assert _same(g0, _params(module.generator))


# --------------------------------------------------------------------------------- the adversarial schedule
def test_adversarial_weight_is_zero_while_pretraining_then_ramps_linearly() -> None:
    module = SRGANModule(
        _generator(), _discriminator(), adversarial_weight=1e-3, pretrain_steps=2, adversarial_ramp_steps=4
    )
    expected = {0: 0.0, 1: 0.0, 2: 0.25e-3, 3: 0.5e-3, 4: 0.75e-3, 5: 1e-3, 9: 1e-3}
    for step, weight in expected.items():
        module.generator_steps.fill_(step)
        assert module.current_adversarial_weight() == pytest.approx(weight, abs=1e-12), step
    module = SRGANModule(_generator(), _discriminator(), adversarial_weight=5e-3)
    assert module.current_adversarial_weight() == 5e-3  # no ramp, no pre-training: full weight at once


# ---------------------------------------------------------------------------------------------- warm start
def test_warm_start_from_an_srmodule_checkpoint_or_a_state_dict(tiny_trainer, tiny_data, tmp_path: Path) -> None:
    pixel = SRModule(_generator(seed=5), lr=1e-2)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0)
    trainer.fit(pixel, datamodule=tiny_data)
    trainer.save_checkpoint(checkpoint := tmp_path / "pixel.ckpt")
    expected = pixel.generator.state_dict()
    assert not all(torch.equal(v, _generator().state_dict()[k]) for k, v in expected.items())

    module = SRGANModule(_generator(), _discriminator(), generator_weights=str(checkpoint), ema_decay=0.9)
    for key, value in expected.items():
        assert torch.equal(module.generator.state_dict()[key], value), key
        assert torch.equal(module.ema.module.state_dict()[key], value), key  # the EMA starts from them

    torch.save(expected, plain := tmp_path / "generator.pt")
    module = SRGANModule(_generator(), _discriminator(), generator_weights=str(plain))
    assert all(torch.equal(module.generator.state_dict()[k], v) for k, v in expected.items())


def test_warm_start_errors_name_the_file(tmp_path: Path) -> None:
    wide = tmp_path / "wide.pt"
    torch.save({"state_dict": SRModule(SRResNet(scale=2, n_resblocks=1, n_feats=16)).state_dict()}, wide)
    with pytest.raises(ValueError, match=r"wide\.pt.*another shape"):
        SRGANModule(_generator(), _discriminator(), generator_weights=str(wide))
    with pytest.raises(FileNotFoundError, match=r"missing\.ckpt"):
        SRGANModule(_generator(), _discriminator(), generator_weights=str(tmp_path / "missing.ckpt"))
    (text := tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.txt is not a readable checkpoint"):
        SRGANModule(_generator(), _discriminator(), generator_weights=str(text))


# --------------------------------------------------------------------------------- other modes, precision
def test_relativistic_generator_loss_uses_the_real_logits(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(
        _generator(), _discriminator(), adversarial_loss=AdversarialLoss("relativistic_average"), adversarial_weight=0.1
    )
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    trainer, recorder = _fit(tiny_trainer, tiny_data, module)
    d1 = copy.deepcopy(d0)
    d1.load_state_dict(recorder.at_step[1][3])
    batch = recorder.batches[0]
    with torch.no_grad():
        sr = g0(batch["lr"])
        real, fake = d0(batch["hr"]), d0(sr)
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros_like(fake))
        )
        real, fake = d1(batch["hr"]), d1(sr)
        adversarial = 0.5 * (
            F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros_like(real))
            + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones_like(fake))
        )
        content = (sr - batch["hr"]).abs().mean()
    logged = trainer.callback_metrics
    assert logged["train/loss_d"].item() == pytest.approx(loss_d.item(), abs=1e-6)
    assert logged["train/loss_g_adv"].item() == pytest.approx(adversarial.item(), abs=1e-6)
    assert logged["train/loss_g"].item() == pytest.approx((content + 0.1 * adversarial).item(), abs=1e-6)


def test_bf16_mixed_runs_on_cpu(tiny_trainer, tiny_data) -> None:
    module = SRGANModule(_generator(), _discriminator())
    g0, d0 = _params(module.generator), _params(module.discriminator)
    trainer = tiny_trainer(fast_dev_run=True, precision="bf16-mixed", callbacks=[SRMetrics()])
    trainer.fit(module, datamodule=tiny_data)
    metrics = trainer.callback_metrics
    for key in ("train/loss_d", "train/loss_g", "train/loss_g_adv", "val/psnr_y"):
        assert torch.isfinite(metrics[key]), key
    assert 0 < metrics["train/d_real"] < 1 and 0 < metrics["train/d_fake"] < 1
    assert not _same(g0, _params(module.generator)) and not _same(d0, _params(module.discriminator))
    assert all(p.dtype == torch.float32 for p in module.parameters())  # mixed: the weights stay float32


def test_a_top_level_cli_optimizer_is_a_clear_error(tmp_path: Path, write_images) -> None:
    from sr_lightning.cli import main

    train = write_images(tmp_path / "train", count=2, size=(48, 48))
    args = [
        "fit",
        "--model=sr_lightning.lit.SRGANModule",
        "--model.generator=sr_lightning.models.SRResNet",
        "--model.generator.init_args.scale=2",
        "--model.generator.init_args.n_resblocks=1",
        "--model.generator.init_args.n_feats=8",
        "--model.discriminator=sr_lightning.models.SRGANDiscriminator",
        "--model.discriminator.init_args.n_feats=4",
        "--optimizer=torch.optim.Adam",
        f"--data.train_dir={train}",
        "--data.patch_size=24",
        "--trainer.fast_dev_run=true",
        "--trainer.accelerator=cpu",
    ]
    with pytest.raises(ValueError, match="optimizer_g/optimizer_d"):
        main(args)


# -------------------------------------------------------------------------------------------- the loss hooks
class _R1Module(SRGANModule):
    """An R1 penalty through the public hook (as in the module docstring); it records the ``real`` it was given."""

    discriminator_real_requires_grad = True

    def __init__(self, generator: nn.Module, discriminator: nn.Module, r1_gamma: float = 10.0, **kwargs) -> None:
        super().__init__(generator, discriminator, **kwargs)
        self.r1_gamma = r1_gamma
        self.reals: list[Tensor] = []

    def discriminator_loss(self, real, fake, real_logits, fake_logits) -> tuple[Tensor, dict[str, Tensor]]:
        self.reals.append(real)
        loss, terms = super().discriminator_loss(real, fake, real_logits, fake_logits)
        (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        r1 = grad.pow(2).flatten(1).sum(1).mean()
        return loss + self.r1_gamma / 2 * r1, {**terms, "adv": loss, "r1": r1}


def _r1_by_hand(discriminator: nn.Module, batch: dict[str, Tensor], sr: Tensor, gamma: float) -> tuple[Tensor, ...]:
    """The vanilla discriminator loss, R1 = mean over the batch of |grad_x D(x)|^2 at the real images, and the total
    ``loss + gamma / 2 * R1``, all with their graphs to ``discriminator``'s weights."""
    real = batch["hr"].clone().requires_grad_(True)
    real_logits, fake_logits = discriminator(real), discriminator(sr.detach())
    loss = 0.5 * (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    )
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    r1 = (grad**2).sum((1, 2, 3)).mean()
    return loss, r1, loss + gamma / 2 * r1


class _DiscriminatorGrads(Callback):
    """The discriminator's gradients at each of its optimizer steps (after the backward, before the step)."""

    def __init__(self) -> None:
        self.grads: list[list[Tensor]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if optimizer is pl_module.optimizers(use_pl_optimizer=False)[1]:
            self.grads.append([p.grad.detach().clone() for p in pl_module.discriminator.parameters()])


def test_an_r1_hook_is_logged_and_matches_r1_by_hand(tiny_trainer, tiny_data) -> None:
    module = _R1Module(_generator(), _discriminator(), r1_gamma=10.0)
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    trainer, recorder = _fit(tiny_trainer, tiny_data, module)
    batch = recorder.batches[0]
    (real,) = module.reals
    assert real.is_leaf and real.requires_grad and torch.equal(real, batch["hr"])  # a leaf copy of the batch
    loss, r1, total = _r1_by_hand(d0, batch, g0(batch["lr"]), gamma=10.0)
    logged = trainer.callback_metrics
    # The same float32 operations on the same CPU tensors (bit-identical here); 1e-6 relative allows for kernels
    # that sum in another order.
    assert logged["train/loss_d_r1"].item() == pytest.approx(r1.item(), rel=1e-6)
    assert logged["train/loss_d_adv"].item() == pytest.approx(loss.item(), rel=1e-6)
    assert logged["train/loss_d"].item() == pytest.approx(total.item(), rel=1e-6)
    assert 10.0 / 2 * r1.item() > 0.1 * loss.item()  # the penalty is not negligible on this batch
    assert (int(module.generator_steps), int(module.discriminator_updates)) == (1, 1)


def test_an_r1_hook_adds_its_gradient_to_the_discriminator_step(tiny_trainer, tiny_data) -> None:
    module = _R1Module(_generator(), _discriminator(), r1_gamma=10.0)
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    grads = _DiscriminatorGrads()
    _, recorder = _fit(tiny_trainer, tiny_data, module, callbacks=[grads])
    loss, _, total = _r1_by_hand(d0, recorder.batches[0], g0(recorder.batches[0]["lr"]), gamma=10.0)
    expected = torch.autograd.grad(total, list(d0.parameters()), retain_graph=True)
    without_penalty = torch.autograd.grad(loss, list(d0.parameters()))
    (logged,) = grads.grads
    for got, want in zip(logged, expected, strict=True):
        # The same float32 graph (double backward included) on the CPU, bit-identical here; other CPU kernels may sum
        # in another order: 1e-5 relative, 1e-6 absolute for the entries near zero (the largest are ~10).
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    penalty = max((want - base).abs().max().item() for want, base in zip(expected, without_penalty, strict=True))
    assert penalty > 1e-2 * max(want.abs().max().item() for want in expected)  # the R1 part matters


class _NaNHookModule(SRGANModule):
    """Returns a NaN from a loss hook at the chosen calls (counted from 0): the loss or a term of the discriminator's
    hook, or the generator's adversarial loss."""

    def __init__(self, nan_calls: Container[int], where: str) -> None:
        super().__init__(_generator(), _discriminator())
        self.nan_calls, self.where, self.calls = nan_calls, where, {"d": 0, "g": 0}

    def _nan(self, hook: str) -> float:
        nan = self.calls[hook] in self.nan_calls
        self.calls[hook] += 1
        return float("nan") if nan else 1.0

    def discriminator_loss(self, real, fake, real_logits, fake_logits) -> tuple[Tensor, dict[str, Tensor]]:
        loss, _ = super().discriminator_loss(real, fake, real_logits, fake_logits)
        factor = self._nan("d") if self.where != "generator" else 1.0
        if self.where == "discriminator_term":
            return loss, {"extra": loss.detach() * factor}
        return loss * factor, {"extra": loss.detach()}

    def generator_adversarial_loss(self, sr, hr, fake_logits, real_logits) -> Tensor:
        factor = self._nan("g") if self.where == "generator" else 1.0
        return super().generator_adversarial_loss(sr, hr, fake_logits, real_logits) * factor


@pytest.mark.parametrize("where", ["discriminator_loss", "discriminator_term", "generator"])
def test_a_non_finite_value_from_a_hook_is_skipped_and_counted(tiny_trainer, tiny_data, where: str) -> None:
    # As with a NaN generator output (test_a_non_finite_batch_is_skipped_without_touching_either_network): batches
    # 1 and 2 are skipped and counted, a finite batch resets the run of skips.
    module = _NaNHookModule(nan_calls={1, 2}, where=where)
    counters = _Counters()
    trainer, recorder = _fit(tiny_trainer, tiny_data, module, limit_train_batches=4, callbacks=[counters])
    ends = recorder.at_batch_end
    assert _same(ends[0][0], ends[2][0])  # the generator was not stepped in batches 1 and 2
    assert not _same(ends[2][0], ends[3][0]) and not _same(ends[2][1], ends[3][1])
    assert counters.consecutive == [0, 1, 2, 0]
    assert trainer.callback_metrics["train/skipped_steps"].item() == 2.0
    # A NaN in the discriminator's hook skips its step too; the generator's hook comes after the discriminator's step,
    # which stands, as it does today for a non-finite adversarial loss.
    skipped_d = where != "generator"
    assert _same(ends[0][1], ends[2][1]) == skipped_d
    assert (int(module.skipped_steps), int(module.generator_steps)) == (2, 2)
    assert int(module.discriminator_updates) == (2 if skipped_d else 4)
    assert torch.isfinite(trainer.callback_metrics["train/loss_d_extra"])  # the last (finite) batch's term


@pytest.mark.parametrize(
    ("where", "message"),
    [("discriminator_term", "discriminator loss or one of its terms"), ("generator", "generator's adversarial loss")],
)
def test_non_finite_hooks_stop_the_fit_after_max_consecutive_skips(tiny_trainer, tiny_data, where, message) -> None:
    module = _NaNHookModule(nan_calls=range(100), where=where)
    module.max_consecutive_skips = 2
    with pytest.raises(NonFiniteLossError, match=f"2 consecutive.*{message}"):
        _fit(tiny_trainer, tiny_data, module, limit_train_batches=4)
    assert (int(module.skipped_steps), int(module.generator_steps)) == (2, 0)


def test_a_hook_returning_a_per_sample_loss_is_a_clear_error(tiny_trainer, tiny_data) -> None:
    class PerSample(SRGANModule):
        def discriminator_loss(self, real, fake, real_logits, fake_logits) -> tuple[Tensor, dict[str, Tensor]]:
            return real_logits.squeeze(1) - fake_logits.squeeze(1), {}

    message = r"PerSample.discriminator_loss must return one-element tensors, but its loss is shaped \(2,\)"
    with pytest.raises(ValueError, match=message):
        _fit(tiny_trainer, tiny_data, PerSample(_generator(), _discriminator()))


@pytest.mark.parametrize("mode", ["vanilla", "srgan", "lsgan", "hinge", "relativistic_average"])
def test_the_default_hooks_give_the_adversarial_losses(tiny_trainer, tiny_data, mode: str) -> None:
    # The module's losses before the hooks existed: AdversarialLoss.discriminator_loss(D(hr), D(sr)) with the
    # weights before the discriminator step, generator_loss(D(sr), D(hr) if relativistic) with those after it.
    module = SRGANModule(_generator(), _discriminator(), adversarial_loss=AdversarialLoss(mode), adversarial_weight=0.1)
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    trainer, recorder = _fit(tiny_trainer, tiny_data, module)
    d1 = copy.deepcopy(d0)
    d1.load_state_dict(recorder.at_step[1][3])
    batch, reference = recorder.batches[0], AdversarialLoss(mode)
    with torch.no_grad():
        sr = g0(batch["lr"])
        real_logits, fake_logits = d0(batch["hr"]), d0(sr)
        loss_d = reference.discriminator_loss(real_logits, fake_logits)
        real_for_g = d1(batch["hr"]) if mode == "relativistic_average" else None
        adversarial = reference.generator_loss(d1(sr), real_for_g)
        content = (sr - batch["hr"]).abs().mean()
    logged = trainer.callback_metrics
    # The same float32 computations on the CPU (as in test_relativistic_generator_loss_uses_the_real_logits).
    assert logged["train/loss_d"].item() == pytest.approx(loss_d.item(), abs=1e-6)
    assert logged["train/loss_g_adv"].item() == pytest.approx(adversarial.item(), abs=1e-6)
    assert logged["train/loss_g"].item() == pytest.approx((content + 0.1 * adversarial).item(), abs=1e-6)
    assert not [key for key in logged if key.startswith("train/loss_d_")]  # the default has no extra terms
    # Called directly, the hooks are the adversarial loss's methods, bit for bit.
    hook_d, terms = module.discriminator_loss(batch["hr"], sr, real_logits, fake_logits)
    assert torch.equal(hook_d, loss_d) and terms == {}
    hook_g = module.generator_adversarial_loss(sr, batch["hr"], fake_logits, real_logits)
    assert torch.equal(hook_g, reference.generator_loss(fake_logits, real_logits))
