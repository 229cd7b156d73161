"""ProgressiveScale: x2 then x4 with the same body, the data and the metrics' border following, restored on resume."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from sr_lightning import EDSR, EDSRMSA, SRDataModule, SRMetrics, SRModule
from sr_lightning.callbacks import ProgressiveScale


class _Recorder(L.Callback):
    """Records, per epoch, the shapes of the training and validation batches and the metrics' border."""

    def __init__(self) -> None:
        self.train: dict[int, set[tuple[int, int]]] = {}
        self.val: dict[int, set[tuple[int, int]]] = {}
        self.tails: dict[int, dict[str, torch.Tensor]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        ratio = (batch["hr"].shape[-1] // batch["lr"].shape[-1], pl_module.generator(batch["lr"]).shape[-1])
        self.train.setdefault(trainer.current_epoch, set()).add(ratio)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        ratio = (outputs["hr"].shape[-1] // outputs["lr"].shape[-1], outputs["sr"].shape[-1] // outputs["lr"].shape[-1])
        self.val.setdefault(trainer.current_epoch, set()).add(ratio)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.tails[trainer.current_epoch] = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}


def _data(tmp_path: Path, write_images) -> SRDataModule:
    train = write_images(tmp_path / "train", count=2, size=(48, 48))
    val = write_images(tmp_path / "val", count=1, size=(40, 48))
    return SRDataModule(scale=2, train_dir=str(train), val_dir=str(val), patch_size=24, batch_size=2, seed=0)


def _module() -> SRModule:
    torch.manual_seed(0)
    return SRModule(
        EDSRMSA(scale=2, scales=(2, 4), n_resblocks=1, n_feats=8), optimizer=partial(torch.optim.Adam, lr=1e-3)
    )


def test_schedule_switches_data_generator_and_metrics_then_keeps_the_body(tmp_path, write_images) -> None:
    recorder = _Recorder()
    module, data = _module(), _data(tmp_path, write_images)
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        accelerator="cpu",
        max_epochs=3,
        limit_train_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=[ProgressiveScale({0: 2, 1: 4}), SRMetrics(), recorder],
    )
    trainer.fit(module, datamodule=data)
    # Training pairs and generator outputs: x2 in epoch 0, x4 from epoch 1 (HR 24 px: LR 12 then 6).
    assert recorder.train == {0: {(2, 24)}, 1: {(4, 24)}, 2: {(4, 24)}}
    assert recorder.val == {0: {(2, 2)}, 1: {(4, 4)}, 2: {(4, 4)}}
    assert module.generator.scale == data.scale == 4 and module.scale == 4
    weights = recorder.tails
    body = [k for k in weights[0] if k.startswith(("head.", "body.0.body.")) and k.endswith("weight")]
    x2_tail = [k for k in weights[0] if k.startswith("tail.tails.2.")]
    # The body trains throughout; the x2 tail stops changing once training moved to x4.
    assert body and all(not torch.equal(weights[0][k], weights[1][k]) for k in body)
    assert all(torch.equal(weights[1][k], weights[2][k]) for k in x2_tail)
    assert trainer.logged_metrics["train/scale"].item() == 4.0


def test_resume_sets_the_scale_of_the_resumed_epoch_before_its_first_batch(tmp_path, write_images) -> None:
    data = _data(tmp_path, write_images)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)

    def trainer(max_epochs: int, *callbacks: L.Callback) -> L.Trainer:
        return L.Trainer(
            default_root_dir=tmp_path,
            accelerator="cpu",
            max_epochs=max_epochs,
            limit_train_batches=1,
            limit_val_batches=0,
            logger=False,
            enable_progress_bar=False,
            callbacks=[ProgressiveScale({0: 2, 1: 4}), *callbacks],
        )

    trainer(1, checkpoint).fit(_module(), datamodule=data)
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["callbacks"]["ProgressiveScale"]["current_scale"] == 2

    recorder = _Recorder()
    fresh_data = _data(tmp_path / "again", write_images)  # a new process would start from the config's x2
    resumed = _module()
    trainer(2, recorder).fit(resumed, datamodule=fresh_data, ckpt_path=tmp_path / "ckpt" / "last.ckpt")
    assert recorder.train == {1: {(4, 24)}}
    assert resumed.generator.scale == fresh_data.scale == 4


def test_a_generator_without_the_scales_is_a_clear_error(tmp_path, write_images) -> None:
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    trainer = L.Trainer(accelerator="cpu", fast_dev_run=True, logger=False, callbacks=[ProgressiveScale({0: 2, 1: 4})])
    with pytest.raises(ValueError, match=r"EDSR has \(2,\), not \[4\].*EDSRMSA\(scales=\(2, 4\)\)"):
        trainer.fit(module, datamodule=_data(tmp_path, write_images))


@pytest.mark.parametrize("schedule", [{}, {1: 2, 5: 4}, {0: 2, -1: 4}])
def test_bad_schedules_are_rejected(schedule: dict[int, int]) -> None:
    with pytest.raises(ValueError, match="schedule"):
        ProgressiveScale(schedule)


def test_scale_at_reads_the_schedule() -> None:
    schedule = ProgressiveScale({10: 4, 0: 2})
    assert [schedule.scale_at(e) for e in (0, 9, 10, 50)] == [2, 2, 4, 4]


def test_a_progressive_run_ends_as_a_model_of_its_last_scale(tmp_path, write_images, capsys) -> None:
    import csv

    from lightning.pytorch.loggers import CSVLogger

    from sr_lightning.callbacks import RunSummary, SRCheckpoint
    from sr_lightning.inference import load_generator

    checkpoint = SRCheckpoint(
        dirpath=tmp_path / "ckpt", monitor="val/psnr_y", mode="max", save_last=True,
        filename="best-epoch{epoch:03d}", auto_insert_metric_name=False,
    )  # fmt: skip
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        accelerator="cpu",
        max_epochs=3,
        limit_train_batches=1,
        logger=CSVLogger(tmp_path, name="run"),
        enable_progress_bar=False,
        callbacks=[ProgressiveScale({0: 2, 1: 4}), SRMetrics(), checkpoint, RunSummary()],
    )
    trainer.fit(_module(), datamodule=_data(tmp_path, write_images))
    rows = list(csv.DictReader((tmp_path / "run" / "version_0" / "metrics.csv").open()))
    tagged = {key: [row["epoch"] for row in rows if row.get(key)] for key in ("val/psnr_y_x2", "val/psnr_y_x4")}
    assert tagged == {"val/psnr_y_x2": ["0"], "val/psnr_y_x4": ["1", "2"]}  # each stage its own curve
    # x2 scores are higher than x4 scores of the same model (bicubic alone falls by ~3.5 dB): ranked together, the
    # x2 epoch would stay "best". The best is chosen within the final stage; the x2 stage's best file is kept.
    x2 = float(next(row["val/psnr_y_x2"] for row in rows if row.get("val/psnr_y_x2")))
    assert x2 > max(float(row["val/psnr_y_x4"]) for row in rows if row.get("val/psnr_y_x4"))
    assert Path(checkpoint.best_model_path).name in ("best-epoch001.ckpt", "best-epoch002.ckpt")
    assert (tmp_path / "ckpt" / "best-epoch000.ckpt").is_file()
    last = load_generator(tmp_path / "ckpt" / "last.ckpt")  # no scale given: the one the run ended at
    assert last.scale == 4 and last(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)
    assert "Validation after 3 epochs at x4" in capsys.readouterr().out
