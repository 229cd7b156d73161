"""16-mixed (fp16 autocast + GradScaler) on the CPU: the T4 setting, loss scaling included, without a GPU.

Lightning turns ``precision="16-mixed"`` into bf16 on a CPU, so the tests pass the precision plugin explicitly with a
CPU GradScaler; the scaling goes through ``manual_backward`` and the optimizers Lightning wraps, as on a GPU.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

from sr_lightning import EDSR, SRDataModule, SRGANDiscriminator, SRGANModule, SRModule, SRResNet


def _trainer(tmp_path, init_scale: float, batches: int) -> L.Trainer:
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale)
    return L.Trainer(
        default_root_dir=tmp_path,
        accelerator="cpu",
        plugins=[MixedPrecision("16-mixed", "cpu", scaler)],
        max_epochs=1,
        limit_train_batches=batches,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
    )


def _data() -> SRDataModule:
    return SRDataModule(scale=2, patch_size=24, batch_size=2, repeat=1, seed=0)


def test_gan_trains_under_fp16_with_loss_scaling_and_saves_the_scaler(tmp_path) -> None:
    torch.manual_seed(0)
    module = SRGANModule(SRResNet(scale=2, n_resblocks=1, n_feats=8), SRGANDiscriminator(n_feats=4, pool_size=1))
    trainer = _trainer(tmp_path, init_scale=1024.0, batches=3)
    trainer.fit(module, datamodule=_data())
    logged = trainer.logged_metrics
    assert all(torch.isfinite(logged[k]) for k in ("train/loss_g", "train/loss_d", "train/loss_g_adv"))
    assert int(module.skipped_steps) == 0 and int(module.generator_steps) == 3
    scaler = trainer.precision_plugin.scaler
    assert scaler.get_scale() == 1024.0 and scaler._growth_tracker == 6  # six unscaled, finite optimizer steps
    trainer.save_checkpoint(tmp_path / "fp16.ckpt")
    saved = torch.load(tmp_path / "fp16.ckpt", map_location="cpu", weights_only=True)
    assert saved["MixedPrecision"]["scale"] == 1024.0 and saved["MixedPrecision"]["_growth_tracker"] == 6
    assert all(p.dtype == torch.float32 for p in module.parameters())  # fp16 only inside autocast


def test_an_overflowing_loss_scale_skips_the_step_and_backs_off(tmp_path) -> None:
    # With a scale of 2**40 the fp16 gradients overflow: the scaler skips optimizer.step (weights unchanged) and
    # halves the scale at each of the two optimizer steps of the batch, exactly as AMP does on a GPU.
    torch.manual_seed(0)
    module = SRGANModule(SRResNet(scale=2, n_resblocks=1, n_feats=8), SRGANDiscriminator(n_feats=4, pool_size=1))
    before = {k: v.clone() for k, v in module.state_dict().items() if k.startswith(("generator.", "discriminator."))}
    trainer = _trainer(tmp_path, init_scale=2.0**40, batches=1)
    trainer.fit(module, datamodule=_data())
    weights = [k for k in before if k.endswith(("weight", "bias"))]
    assert all(torch.equal(before[k], module.state_dict()[k]) for k in weights)
    assert trainer.precision_plugin.scaler.get_scale() == 2.0**38


def test_srmodule_trains_under_fp16_with_loss_scaling(tmp_path) -> None:
    torch.manual_seed(0)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), ema_decay=0.9)
    before = [p.detach().clone() for p in module.generator.parameters()]
    trainer = _trainer(tmp_path, init_scale=1024.0, batches=2)
    trainer.fit(module, datamodule=_data())
    assert torch.isfinite(trainer.logged_metrics["train/loss"])
    assert trainer.precision_plugin.scaler._growth_tracker == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters(), strict=True))
    assert int(module.ema.num_updates) == 2
