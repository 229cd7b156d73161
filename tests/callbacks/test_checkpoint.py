"""SRCheckpoint: last.ckpt is always the newest state (every epoch, every N steps, before validation) and a NaN score
is never the best checkpoint."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch

from sr_lightning import EDSR, SRMetrics, SRModule
from sr_lightning.callbacks import SRCheckpoint


class _Boom(RuntimeError):
    pass


class _FailAt(L.Callback):
    """Raise in a hook at a given epoch (and batch), as a broken image or a crashing metric would."""

    def __init__(self, hook: str, epoch: int, batch: int | None = None) -> None:
        self.hook, self.epoch, self.batch = hook, epoch, batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.hook == "train_batch" and (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            raise _Boom("killed in training")

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if self.hook == "validation" and trainer.current_epoch == self.epoch and not trainer.sanity_checking:
            raise _Boom("a validation image broke the metric")


def _checkpoint(tmp_path: Path, **kwargs) -> SRCheckpoint:
    options = {"dirpath": tmp_path / "ckpt", "monitor": "val/psnr_y", "mode": "max", "save_last": True}
    return SRCheckpoint(**{**options, **kwargs})


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _module(seed: int = 0) -> SRModule:
    torch.manual_seed(seed)
    return SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), optimizer=partial(torch.optim.Adam, lr=1e-3))


def test_last_ckpt_follows_every_epoch_even_when_the_score_does_not_improve(tmp_path, tiny_trainer, tiny_data) -> None:
    # mode="min" on PSNR: training improves PSNR, so no epoch after the first is a new "best". Lightning 2.6's
    # ModelCheckpoint then leaves last.ckpt at epoch 0; SRCheckpoint writes it after every validation.
    checkpoint = _checkpoint(tmp_path, mode="min")
    trainer = tiny_trainer(
        max_epochs=3, limit_train_batches=2, enable_checkpointing=True, callbacks=[SRMetrics(), checkpoint]
    )
    trainer.fit(_module(), datamodule=tiny_data(1))
    last = _load(tmp_path / "ckpt" / "last.ckpt")
    assert (last["epoch"], last["global_step"]) == (2, 6)
    assert len([p for p in (tmp_path / "ckpt").iterdir() if p.name != "last.ckpt"]) == 1  # epoch 0's, the "best"


def test_step_checkpoints_write_last_before_the_first_validation(tmp_path, tiny_trainer, tiny_data) -> None:
    checkpoint = _checkpoint(tmp_path, every_n_train_steps=1)
    trainer = tiny_trainer(
        max_epochs=1,
        limit_train_batches=4,
        enable_checkpointing=True,
        callbacks=[_FailAt("train_batch", 0, 1), checkpoint],
    )
    with pytest.raises(_Boom):
        trainer.fit(_module(), datamodule=tiny_data(1))
    # Checkpoints run after the other callbacks: the batch that failed (index 1) was not saved, the one before was.
    assert _load(tmp_path / "ckpt" / "last.ckpt")["global_step"] == 1
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["last.ckpt"]  # no score to rank yet


def test_a_failing_validation_keeps_the_epochs_training_and_resumes_exactly(tmp_path, tiny_trainer, tiny_data) -> None:
    data = tiny_data(1)
    straight = _module()
    tiny_trainer(
        max_epochs=3,
        limit_train_batches=2,
        enable_checkpointing=True,
        callbacks=[SRMetrics(), _checkpoint(tmp_path / "a")],
    ).fit(straight, datamodule=data)

    crashed = _module()
    callbacks = [SRMetrics(), _FailAt("validation", 1), _checkpoint(tmp_path / "b")]
    with pytest.raises(_Boom):
        tiny_trainer(max_epochs=3, limit_train_batches=2, enable_checkpointing=True, callbacks=callbacks).fit(
            crashed, datamodule=data
        )
    last = tmp_path / "b" / "ckpt" / "last.ckpt"
    assert _load(last)["global_step"] == 4  # epoch 1's training was saved before its validation failed

    resumed = _module(seed=1)  # other initial weights: everything must come from the checkpoint
    trainer = tiny_trainer(
        max_epochs=3,
        limit_train_batches=2,
        enable_checkpointing=True,
        callbacks=[SRMetrics(), _checkpoint(tmp_path / "c")],
    )
    trainer.fit(resumed, datamodule=data, ckpt_path=last)
    assert trainer.global_step == 6
    for (name, value), other in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        # The same CPU operations in the same order (seeded data, no validation in between changes the weights).
        torch.testing.assert_close(other, value, rtol=0, atol=1e-6, msg=name)


class _NaNAtEpoch(SRModule):
    """Validation outputs turn NaN from a given epoch on (the weights stay finite)."""

    def __init__(self, *args, nan_from: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nan_from = nan_from

    def validation_step(self, batch: dict, batch_idx: int) -> dict:
        outputs = super().validation_step(batch, batch_idx)
        if self.current_epoch >= self.nan_from:
            outputs["sr"] = torch.full_like(outputs["sr"], float("nan"))
        return outputs


def test_a_nan_score_is_never_ranked_best(tmp_path, tiny_trainer, tiny_data) -> None:
    checkpoint = _checkpoint(
        tmp_path, filename="best-epoch{epoch:03d}-psnr_y{val/psnr_y:.3f}", auto_insert_metric_name=False
    )
    module = _NaNAtEpoch(EDSR(scale=2, n_resblocks=1, n_feats=8), nan_from=1)
    trainer = tiny_trainer(
        max_epochs=3, limit_train_batches=2, enable_checkpointing=True, callbacks=[SRMetrics(), checkpoint]
    )
    with pytest.warns(UserWarning, match=r"val/psnr_y = nan at epoch 1.*not ranked"):
        trainer.fit(module, datamodule=tiny_data(1))
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names[0].startswith("best-epoch000-") and len(names) == 2 and "nan" not in "".join(names)
    assert torch.isfinite(checkpoint.best_model_score)
    assert _load(tmp_path / "ckpt" / "last.ckpt")["epoch"] == 2  # the run itself went on


@pytest.mark.parametrize("before_validation", [True, False])
def test_epochs_without_validation_write_last_too(tmp_path, tiny_trainer, tiny_data, before_validation) -> None:
    checkpoint = _checkpoint(tmp_path, save_last_before_validation=before_validation)
    trainer = tiny_trainer(
        max_epochs=3, limit_train_batches=2, check_val_every_n_epoch=2, enable_checkpointing=True,
        callbacks=[SRMetrics(), checkpoint],
    )  # fmt: skip
    trainer.fit(_module(), datamodule=tiny_data(1))
    assert _load(tmp_path / "ckpt" / "last.ckpt")["global_step"] == 6  # epoch 2 did not validate
