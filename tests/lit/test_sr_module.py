"""SRModule: fast_dev_run, what the evaluation step returns, the metrics it feeds, precision settings."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sr_lightning import EDSR, SRDataModule, SRMetrics, SRModule, SRResNet
from sr_lightning.data import imresize
from sr_lightning.metrics.functional import psnr_y


@pytest.fixture
def tiny_data(tmp_path: Path, write_images) -> SRDataModule:
    train = write_images(tmp_path / "train")
    val = write_images(tmp_path / "val", count=2, size=(36, 44))
    return SRDataModule(scale=2, train_dir=str(train), val_dir=str(val), patch_size=24, batch_size=2)


@pytest.mark.parametrize(
    "generator", [EDSR(scale=2, n_resblocks=1, n_feats=8), SRResNet(scale=2, n_resblocks=1, n_feats=8)]
)
def test_fast_dev_run_trains_validates_and_changes_weights(tiny_trainer, tiny_data, generator: nn.Module) -> None:
    module = SRModule(generator, optimizer=partial(torch.optim.Adam, lr=1e-3))
    before = [p.detach().clone() for p in module.parameters()]
    tiny_trainer(fast_dev_run=True, callbacks=[SRMetrics()]).fit(module, datamodule=tiny_data)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_validation_metrics_are_logged_and_bicubic_matches_the_protocol(tiny_trainer, tiny_data) -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    results = tiny_trainer(callbacks=[SRMetrics()]).validate(module, datamodule=tiny_data, verbose=False)[0]
    for key in ("psnr", "ssim", "psnr_y", "ssim_y", "bicubic_psnr_y", "bicubic_ssim_y", "loss"):
        assert f"val/{key}" in results
    # The bicubic baseline recomputed by hand from the same validation images.
    expected = np.mean(
        [psnr_y(imresize(b["lr"], 2).clamp(0, 1), b["hr"], border=2).item() for b in tiny_data.val_dataloader()]
    )
    assert results["val/bicubic_psnr_y"] == pytest.approx(expected, abs=1e-4)


def test_evaluation_step_returns_images_for_callbacks(tiny_data) -> None:
    tiny_data.setup("validate")
    batch = next(iter(tiny_data.val_dataloader()))
    out = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)).validation_step(batch, 0)
    assert set(out) == {"lr", "sr", "hr", "name"}
    assert out["sr"].shape == out["hr"].shape and not out["sr"].requires_grad


def test_default_loss_is_l1_and_custom_loss_is_used() -> None:
    assert isinstance(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)).loss, nn.L1Loss)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), loss=nn.MSELoss())
    batch = {"lr": torch.rand(2, 3, 6, 6), "hr": torch.rand(2, 3, 12, 12)}
    with torch.no_grad():
        expected = nn.functional.mse_loss(module(batch["lr"]), batch["hr"])
        assert module.training_step(batch, 0).item() == pytest.approx(expected.item())


def test_scale_mismatch_between_data_and_generator_is_an_error(tiny_trainer, tiny_data) -> None:
    module = SRModule(EDSR(scale=4, n_resblocks=1, n_feats=8))
    with pytest.raises(ValueError, match=r"data scale \(2\).*generator's scale \(4\)"):
        tiny_trainer(fast_dev_run=True).fit(module, datamodule=tiny_data)


def test_generator_without_scale_is_rejected() -> None:
    with pytest.raises(ValueError, match="integer `scale`"):
        SRModule(nn.Conv2d(3, 3, 3))


def test_hyperparameters_leave_networks_out_of_checkpoints_outside_the_cli() -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), optimizer=partial(torch.optim.Adam, lr=3e-4))
    assert dict(module.hparams) == {
        "scheduler_interval": "epoch",
        "lr": None,
        "ema_decay": None,
        "channels_last": False,
        "compile_generator": False,
        "compile_backend": "inductor",
        "max_consecutive_skips": 10,
        "generator_weights": None,
        "generator_weights_strict": True,
    }


def test_bf16_mixed_runs_on_cpu(tiny_trainer, tiny_data) -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    trainer = tiny_trainer(fast_dev_run=True, precision="bf16-mixed", callbacks=[SRMetrics()])
    trainer.fit(module, datamodule=tiny_data)
    assert torch.isfinite(trainer.callback_metrics["val/psnr_y"])


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["16-mixed", "bf16-mixed", "32"])
def test_precisions_on_gpu(cuda, tiny_trainer, tiny_data, precision: str) -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=2, n_feats=16), optimizer=partial(torch.optim.Adam, lr=1e-3))
    trainer = tiny_trainer(
        accelerator="gpu",
        devices=1,
        max_steps=20,
        precision=precision,
        callbacks=[SRMetrics()],
        limit_val_batches=2,
    )
    trainer.fit(module, datamodule=tiny_data)
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert torch.isfinite(trainer.callback_metrics["val/psnr_y"])
    assert trainer.callback_metrics["val/psnr_y"].device.type in ("cpu", "cuda")
    scaler = getattr(trainer.precision_plugin, "scaler", None)
    if precision == "16-mixed":  # fp16: a real loss scaler, stepping on CUDA
        assert isinstance(scaler, torch.amp.GradScaler) and scaler.is_enabled()
        assert 0 < scaler.get_scale() < float("inf")
    else:
        assert scaler is None


def test_weighted_loss_terms_are_logged_by_name(tiny_trainer, tiny_data) -> None:
    from sr_lightning.losses import SobelEdgeLoss, WeightedLoss

    loss = WeightedLoss(
        {"l1": nn.L1Loss(), "edge": SobelEdgeLoss(), "unused": nn.MSELoss()}, {"edge": 0.5, "unused": 0}
    )
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), loss=loss)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=1, log_every_n_steps=1)
    trainer.fit(module, datamodule=tiny_data)
    logged = trainer.logged_metrics
    assert {"train/loss_l1", "train/loss_edge", "val/loss_l1", "val/loss_edge"} <= set(logged)
    assert "train/loss_unused" not in logged  # a zero-weight term is not computed
    expected = logged["train/loss_l1"] + 0.5 * logged["train/loss_edge"]
    assert logged["train/loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    batch = next(iter(tiny_data.val_dataloader()))
    with torch.no_grad():
        total, terms = module.compute_loss(module(batch["lr"]), batch["hr"])
    assert set(terms) == {"l1", "edge"} and total.item() == pytest.approx((terms["l1"] + 0.5 * terms["edge"]).item())
