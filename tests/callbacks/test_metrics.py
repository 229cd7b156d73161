"""SRMetrics keeps the bicubic scores of each validation image: computed once, logged identically every epoch."""

from __future__ import annotations

import warnings

import pytest
import torch

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks import SRMetrics
from sr_lightning.callbacks import metrics as metrics_module
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
    callback._update("val", module, outputs)
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
