"""SRMetrics keeps the bicubic scores of each validation image: computed once, logged identically every epoch."""

from __future__ import annotations

import warnings

import pytest
import torch

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks import SRMetrics
from sr_lightning.callbacks import psnr_ssim as metrics_module
from sr_lightning.data import imresize
from sr_lightning.metrics.functional import psnr_y, ssim


class _Logged(SRMetrics):
    """SRMetrics that records every value it logs, per validation."""

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[dict[str, float]] = []

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        super().on_validation_epoch_end(trainer, pl_module)
        self.logged.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")})


def test_bicubic_scores_are_computed_once_and_logged_identically(tiny_data, tiny_trainer, monkeypatch) -> None:
    calls = []
    original = metrics_module.bicubic_upscale
    monkeypatch.setattr(metrics_module, "bicubic_upscale", lambda lr, s: calls.append(lr.shape[0]) or original(lr, s))
    data = tiny_data(3)
    callback = _Logged()
    trainer = tiny_trainer(max_epochs=3, limit_train_batches=1, num_sanity_val_steps=0, callbacks=[callback])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    # Kept scores go through update() like fresh ones: torchmetrics counts them (it syncs and warns by that count).
    assert not [w for w in caught if "before the ``update`` method" in str(w.message)]
    assert sum(calls) == 3  # each of the 3 validation images upscaled once, in the first validation only
    first, *later = callback.logged
    keys = [k for k in first if "bicubic" in k]
    assert len(keys) == 4 and all(epoch[k] == first[k] for epoch in later for k in keys)  # bit for bit
    # The kept values are the protocol's: the per-image mean over the validation set.
    items = [data.val_dataset[i] for i in range(3)]
    expected = torch.stack([psnr_y(imresize(it["lr"][None], 2).clamp(0, 1), it["hr"][None], border=2) for it in items])
    assert first["val/bicubic_psnr_y"] == pytest.approx(expected.mean().item(), abs=1e-5)  # float32 logging


def test_an_image_with_a_known_name_but_other_pixels_is_scored_again() -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    callback = SRMetrics()
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 3, 32, 32, generator=gen)
    lr = imresize(hr, 1 / 2).clamp(0, 1)
    outputs = {"lr": lr, "sr": hr, "hr": hr, "name": ["a", "a"]}  # one name, two images (two folders)
    callback._score_batch("val", module, outputs)
    bicubic = imresize(lr, 2).clamp(0, 1)
    expected = ssim(bicubic, hr, border=2, reduction="none").mean()
    assert callback._metrics["val"]["bicubic_ssim"].compute().item() == pytest.approx(expected.item(), abs=1e-6)
    assert len(callback._bicubic_scores) == 2


@pytest.mark.gpu
def test_metric_states_live_on_the_module_device_and_match_the_cpu(cuda, tiny_data, tiny_trainer) -> None:
    data = tiny_data(2)
    values = {}
    for accelerator in ("cpu", "gpu"):
        callback = SRMetrics()
        module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
        trainer = tiny_trainer(accelerator=accelerator, devices=1, callbacks=[callback])
        states = []
        original = callback._log

        def log(stage, pl_module, callback=callback, original=original, states=states):
            states.extend(metric.total.device.type for metric in callback._metrics[stage].values())
            original(stage, pl_module)

        callback._log = log
        trainer.validate(module, datamodule=data, verbose=False)
        values[accelerator] = {k: float(v) for k, v in trainer.callback_metrics.items()}
        assert set(states) == {"cuda" if accelerator == "gpu" else "cpu"}
    # The bicubic baseline is the same arithmetic on both devices (float32 MATLAB bicubic, then 8-bit levels): a
    # pixel that rounds the other way moves PSNR by far less than 0.01 dB.
    for key in ("val/bicubic_psnr_y", "val/bicubic_psnr"):
        assert values["gpu"][key] == pytest.approx(values["cpu"][key], abs=0.01)


class _Spy(SRMetrics):
    """SRMetrics that records (sanity check?, epoch) for every batch it scores."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scored: list[tuple[bool, int]] = []

    def _score_batch(self, stage, pl_module, outputs) -> None:
        self.scored.append((pl_module.trainer.sanity_checking, pl_module.trainer.current_epoch))
        super()._score_batch(stage, pl_module, outputs)


def test_every_n_epochs_logs_only_on_those_epochs_and_never_in_the_sanity_check(
    tmp_path, tiny_data, tiny_trainer
) -> None:
    import csv

    from lightning.pytorch.loggers import CSVLogger

    data = tiny_data(3)
    callback = _Spy(every_n_epochs=2)
    logger = CSVLogger(tmp_path, name="run", version=0)
    trainer = tiny_trainer(
        max_epochs=4, limit_train_batches=1, num_sanity_val_steps=1, logger=logger, callbacks=[callback]
    )
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    trainer.fit(module, datamodule=data)
    assert trainer.num_sanity_val_steps == 1 and not any(sanity for sanity, _ in callback.scored)
    assert sorted({epoch for _, epoch in callback.scored}) == [1, 3]  # the 2nd and 4th epochs
    assert callback._bicubic_scores  # filled by the first scored validation, not by the sanity check
    with open(tmp_path / "run" / "version_0" / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    validated = {int(row["epoch"]) for row in rows if row.get("val/loss")}
    scored = {int(row["epoch"]) for row in rows if row.get("val/psnr_y")}
    keys = {k for row in rows for k, v in row.items() if v and k.startswith("val/") and ("psnr" in k or "ssim" in k)}
    assert validated == {0, 1, 2, 3} and scored == {1, 3}
    assert {"val/psnr", "val/ssim", "val/psnr_y", "val/ssim_y", "val/bicubic_psnr_y"} <= keys
    for row in rows:  # every value of the callback is logged on the scored epochs only
        if any(row.get(key) for key in keys):
            assert int(row["epoch"]) in {1, 3}
    # trainer.validate and trainer.test score every time.
    callback.scored.clear()
    trainer.validate(module, datamodule=data, verbose=False)
    assert callback.scored and "val/psnr_y" in trainer.callback_metrics


def test_every_n_epochs_stops_a_checkpoint_that_would_look_on_unscored_epochs(tiny_data, tiny_trainer) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    data = tiny_data(2)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    checkpoint = ModelCheckpoint(monitor="val/psnr_y", mode="max")
    trainer = tiny_trainer(
        max_epochs=2,
        limit_train_batches=1,
        enable_checkpointing=True,
        callbacks=[SRMetrics(every_n_epochs=2), checkpoint],
    )
    with pytest.raises(ValueError, match=r"monitor='val/psnr_y'.*every_n_epochs=2.*check_val_every_n_epoch=2"):
        trainer.fit(module, datamodule=data)
    assert trainer.global_step == 0  # stopped before training
    # Validating only on the scored epochs, the same checkpoint works.
    checkpoint = ModelCheckpoint(monitor="val/psnr_y", mode="max")
    trainer = tiny_trainer(
        max_epochs=2,
        limit_train_batches=1,
        check_val_every_n_epoch=2,
        enable_checkpointing=True,
        callbacks=[SRMetrics(every_n_epochs=2), checkpoint],
    )
    trainer.fit(module, datamodule=data)
    assert checkpoint.best_model_path and "val/psnr_y" in trainer.callback_metrics
