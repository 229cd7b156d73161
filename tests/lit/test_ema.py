"""ModelEMA: the update rule on known tensors; the EMA of SRModule and SRGANModule in a fit, validation and
checkpoints."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn

from sr_lightning import SRDataModule, SRModule
from sr_lightning.lit import ModelEMA, SRGANModule
from sr_lightning.models import SRGANDiscriminator, SRResNet


@pytest.fixture
def tiny_data(tmp_path: Path, write_images) -> SRDataModule:
    train = write_images(tmp_path / "train")
    val = write_images(tmp_path / "val", count=2, size=(36, 44))
    return SRDataModule(scale=2, train_dir=str(train), val_dir=str(val), patch_size=24, batch_size=2)


def _generator() -> SRResNet:
    torch.manual_seed(0)
    return SRResNet(scale=2, n_resblocks=1, n_feats=8)


def _params(net: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in net.parameters()]


class _GeneratorWeights(Callback):
    """The generator's weights after every training batch (after its optimizer step and EMA update)."""

    def __init__(self) -> None:
        self.after_batch: list[list[Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.after_batch.append(_params(pl_module.generator))


# ------------------------------------------------------------------------------------------------ ModelEMA
def _net(weight: list[float], bias: float) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([weight]))
        net[0].bias.fill_(bias)
    return net


def test_update_follows_the_decay_formula_and_copies_buffers() -> None:
    net = _net([1.0, -2.0], 0.5)
    ema = ModelEMA(net, decay=0.9)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[3.0, 4.0]]))
        net[0].bias.fill_(-1.5)
        net[1].running_mean.fill_(7.0)
        net[1].num_batches_tracked.fill_(5)
    ema.update(net)
    expected = torch.tensor([[0.9 * 1.0 + 0.1 * 3.0, 0.9 * -2.0 + 0.1 * 4.0]])
    torch.testing.assert_close(ema.module[0].weight, expected, rtol=0, atol=1e-7)
    torch.testing.assert_close(ema.module[0].bias, torch.tensor([0.9 * 0.5 + 0.1 * -1.5]), rtol=0, atol=1e-7)
    # Buffers are copied, not averaged.
    assert ema.module[1].running_mean.item() == 7.0 and ema.module[1].num_batches_tracked.item() == 5
    ema.update(net)  # a second step from the first average
    torch.testing.assert_close(ema.module[0].weight, 0.9 * expected + 0.1 * net[0].weight, rtol=0, atol=1e-6)
    assert int(ema.num_updates) == 2
    # The average is a copy: training the model leaves it alone until the next update.
    with torch.no_grad():
        net[0].weight.fill_(100.0)
    torch.testing.assert_close(ema.module[0].weight, 0.9 * expected + 0.1 * torch.tensor([[3.0, 4.0]]))


def test_decay_zero_copies_the_weights_and_decay_outside_zero_one_is_rejected() -> None:
    net = _net([1.0, 2.0], 3.0)
    ema = ModelEMA(_net([0.0, 0.0], 0.0), decay=0.0)
    ema.update(net)
    assert torch.equal(ema.module[0].weight, net[0].weight) and torch.equal(ema.module[0].bias, net[0].bias)
    for decay in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"EMA decay must be in \[0, 1\)"):
            ModelEMA(net, decay=decay)


def test_the_average_is_frozen_and_stays_in_eval_mode() -> None:
    net = _net([1.0, 2.0], 3.0)
    ema = ModelEMA(net, decay=0.99)
    assert all(not p.requires_grad for p in ema.parameters())
    assert all(p.requires_grad for p in net.parameters())  # the model itself is untouched
    ema.train()
    assert ema.training and not ema.module.training and not ema.module[1].training
    assert net.training
    # In eval mode its BatchNorm uses the running statistics (0 mean, unit variance at construction).
    x = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    expected = (x @ net[0].weight.T + net[0].bias) / (1 + 1e-5) ** 0.5
    torch.testing.assert_close(ema(x), expected)


# ----------------------------------------------------------------------------------------------- in a fit
def test_srmodule_ema_follows_the_generator_and_is_used_for_validation(tiny_trainer, tiny_data, tmp_path: Path) -> None:
    module = SRModule(_generator(), optimizer=partial(torch.optim.Adam, lr=1e-2), ema_decay=0.5)
    average = _params(module.generator)
    weights = _GeneratorWeights()
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0, callbacks=[weights])
    trainer.fit(module, datamodule=tiny_data)
    assert len(weights.after_batch) == 2
    for step in weights.after_batch:  # replay: ema = 0.5 * ema + 0.5 * w_t after each optimizer step
        average = [0.5 * a + 0.5 * w for a, w in zip(average, step, strict=True)]
    for got, want in zip(module.ema.module.parameters(), average, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert int(module.ema.num_updates) == 2

    # Evaluation runs the average; training the generator.
    lr = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    module.eval()
    with torch.no_grad():
        assert torch.equal(module(lr), module.ema.module(lr))
        assert not torch.allclose(module(lr), module.generator(lr), atol=1e-4)
    module.train()
    with torch.no_grad():
        assert torch.equal(module(lr), module.generator(lr))
    results = tiny_trainer().validate(module, datamodule=tiny_data, verbose=False)[0]
    with torch.no_grad():
        per_image = [(module.ema.module(b["lr"]) - b["hr"]).abs().mean() for b in tiny_data.val_dataloader()]
    assert results["val/loss"] == pytest.approx(torch.stack(per_image).mean().item(), abs=1e-6)

    # The average is saved and restored with the checkpoint.
    trainer.save_checkpoint(path := tmp_path / "ema.ckpt")
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    assert {f"ema.module.{k}" for k, _ in module.generator.named_parameters()} < set(state)
    assert int(state["ema.num_updates"]) == 2
    restored = SRModule.load_from_checkpoint(path, generator=_generator())
    assert all(
        torch.equal(a, b) for a, b in zip(restored.ema.module.parameters(), module.ema.module.parameters(), strict=True)
    )


def test_gan_module_updates_the_ema_on_generator_steps_only(tiny_trainer, tiny_data) -> None:
    torch.manual_seed(1)
    module = SRGANModule(_generator(), SRGANDiscriminator(n_feats=4, pool_size=1), discriminator_steps=2, ema_decay=0.5)
    start = _params(module.generator)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    trainer.fit(module, datamodule=tiny_data)
    assert (int(module.ema.num_updates), int(module.generator_steps), int(module.discriminator_updates)) == (1, 1, 2)
    for got, a, b in zip(module.ema.module.parameters(), start, module.generator.parameters(), strict=True):
        torch.testing.assert_close(got, 0.5 * a + 0.5 * b, rtol=0, atol=1e-7)
