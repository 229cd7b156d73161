"""SRDataModule: sources and splits, argument errors, reproducible batches, the scale switch, a Lightning run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from sr_lightning.data import DEFAULT_TRAIN_NAMES, DEFAULT_VAL_NAMES, SRDataModule


def _batches(loader: torch.utils.data.DataLoader) -> list[dict]:
    return list(loader)


def _assert_equal_batches(first: list[dict], second: list[dict]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a["hr"], b["hr"]) and torch.equal(a["lr"], b["lr"])


def _check_batch(batch: dict, scale: int, whole: bool) -> None:
    assert set(batch) == ({"lr", "hr", "name"} if whole else {"lr", "hr"})
    for key in ("lr", "hr"):
        assert batch[key].dtype == torch.float32 and batch[key].dim() == 4
        assert batch[key].min() >= 0 and batch[key].max() <= 1
    assert batch["hr"].shape[2:] == tuple(scale * n for n in batch["lr"].shape[2:])
    if whole:
        assert isinstance(batch["name"], list) and all(isinstance(name, str) for name in batch["name"])


def test_embedded_default_split_is_fixed() -> None:
    dm = SRDataModule(scale=4, patch_size=48, batch_size=3)
    dm.setup("fit")
    assert [source.name for source in dm.train_dataset.sources] == list(DEFAULT_TRAIN_NAMES)
    assert dm.val_dataset.names == list(DEFAULT_VAL_NAMES)
    _check_batch(next(iter(dm.train_dataloader())), 4, whole=False)
    val = next(iter(dm.val_dataloader()))
    _check_batch(val, 4, whole=True)
    assert val["name"] == ["chelsea"] and val["hr"].shape == (1, 3, 300, 448)


def test_train_dir_split_by_name_is_deterministic_and_disjoint(image_folder: Callable) -> None:
    folder = image_folder([(32, 32)] * 10)
    dm = SRDataModule(train_dir=str(folder), patch_size=24, val_fraction=0.25)
    dm.setup("fit")
    train = [source.name for source in dm.train_dataset.sources]
    assert dm.val_dataset.names == ["img0", "img4", "img8"]
    assert sorted(train + dm.val_dataset.names) == sorted(f"img{i}" for i in range(10))
    again = SRDataModule(train_dir=str(folder), patch_size=24, val_fraction=0.25)
    again.setup("fit")
    assert again.val_dataset.names == dm.val_dataset.names


def test_train_files_and_val_dir(image_folder: Callable) -> None:
    train = image_folder([(32, 32)] * 3, name="train")
    val = image_folder([(20, 22)], name="val")
    files = [str(path) for path in sorted(train.glob("*.png"))]
    dm = SRDataModule(train_files=files, val_dir=str(val), test_dir=str(val), predict_dir=str(val), patch_size=24)
    dm.setup()
    assert len(dm.train_dataset) == 3 and dm.val_dataset.names == ["img0"]
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        batch = next(iter(loader))
        _check_batch(batch, 2, whole=True)
        assert batch["hr"].shape == (1, 3, 20, 22)
    predict = next(iter(dm.predict_dataloader()))  # predict_dir holds the LR inputs themselves: no HR, no downscale
    assert set(predict) == {"lr", "name", "path"} and predict["lr"].shape == (1, 3, 20, 22)
    assert predict["name"] == ["img0"] and predict["path"] == ["img0.png"]


def test_missing_test_and_predict_dirs_name_the_argument() -> None:
    dm = SRDataModule()
    with pytest.raises(ValueError, match=r"data\.test_dir"):
        dm.setup("test")
    with pytest.raises(ValueError, match=r"data\.predict_dir"):
        dm.predict_dataloader()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 5}, "scale must be one of .* got 5"),
        ({"scale": 4, "patch_size": 50}, "patch_size .* scale 4, got 50"),
        ({"val_fraction": 0.0}, r"val_fraction .* got 0\.0"),
        ({"val_fraction": 1.5}, r"val_fraction .* got 1\.5"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"num_workers": -1}, "num_workers must be >= 0, got -1"),
        ({"train_dir": "a", "train_files": ["b.png"]}, "not both"),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SRDataModule(**kwargs)


def test_single_image_cannot_be_split(image_folder: Callable) -> None:
    with pytest.raises(ValueError, match=r"Cannot split train_dir .*imgs.* 1 image"):
        SRDataModule(train_dir=str(image_folder([(32, 32)])), patch_size=24).setup("fit")


def test_same_seed_same_batches_for_any_num_workers(image_folder: Callable) -> None:
    folder = str(image_folder([(40, 44), (36, 50), (48, 48)]))
    common = {"train_dir": folder, "patch_size": 16, "batch_size": 4, "repeat": 4, "val_fraction": 0.3}
    reference = _batches(SRDataModule(**common, seed=3).train_dataloader())
    assert len(reference) == 2  # 2 training images x 4 repeats, batches of 4
    for workers in (1, 2):
        _assert_equal_batches(
            reference, _batches(SRDataModule(**common, seed=3, num_workers=workers).train_dataloader())
        )
    other = _batches(SRDataModule(**common, seed=4).train_dataloader())
    assert not torch.equal(reference[0]["hr"], other[0]["hr"])


def test_epochs_differ_and_set_epoch_replays(image_folder: Callable) -> None:
    dm = SRDataModule(train_dir=str(image_folder([(40, 44)] * 3)), patch_size=16, batch_size=2, repeat=2)
    loader = dm.train_dataloader()
    epoch0, epoch1 = _batches(loader), _batches(loader)  # the sampler advances after a complete pass
    assert not torch.equal(epoch0[0]["hr"], epoch1[0]["hr"])
    loader.sampler.set_epoch(0)
    _assert_equal_batches(epoch0, _batches(loader))
    loader.sampler.set_epoch(1)
    _assert_equal_batches(epoch1, _batches(loader))


def test_drop_last_only_when_a_full_batch_exists(image_folder: Callable) -> None:
    folder = str(image_folder([(32, 32)] * 4))
    assert [len(b["hr"]) for b in SRDataModule(train_dir=folder, patch_size=24, batch_size=5).train_dataloader()] == [3]
    loader = SRDataModule(train_dir=folder, patch_size=24, batch_size=2, repeat=3).train_dataloader()
    assert loader.drop_last and [len(b["hr"]) for b in loader] == [2] * 4


@pytest.mark.parametrize("num_workers", [0, 1])
def test_scale_setter_switches_every_loader(image_folder: Callable, num_workers: int) -> None:
    folder = str(image_folder([(48, 48)] * 3))
    dm = SRDataModule(train_dir=folder, patch_size=24, batch_size=2, num_workers=num_workers, persistent_workers=True)
    dm.setup("fit")
    train, val = dm.train_dataloader(), dm.val_dataloader()
    assert next(iter(train))["lr"].shape == (2, 3, 12, 12)
    dm.scale = 4  # progressive training: loaders (and persistent workers) already exist
    assert dm.scale == 4 and dm.hparams.scale == 2
    for batch in _batches(train):
        assert batch["lr"].shape == (2, 3, 6, 6)
    val_batch = next(iter(val))
    assert val_batch["lr"].shape == (1, 3, 12, 12) and val_batch["hr"].shape == (1, 3, 48, 48)
    with pytest.raises(ValueError, match="got 8"):
        dm.scale = 8


def test_failed_scale_switch_changes_nothing(tmp_path: Path, image_folder: Callable, write_image: Callable) -> None:
    root = tmp_path / "bench"
    for rel, size in [("HR/a.png", 24), ("LR_bicubic/X2/a.png", 12), ("HR/b.png", 24), ("LR_bicubic/X2/b.png", 12)]:
        write_image(root / rel, size, size)
    write_image(root / "LR_bicubic/X4/a.png", 6, 6)  # b has no x4 file
    dm = SRDataModule(train_dir=str(image_folder([(32, 32)] * 2)), val_dir=str(root), patch_size=24)
    dm.setup("fit")
    with pytest.raises(FileNotFoundError, match=r"HR/b\.png"):
        dm.scale = 4
    assert dm.scale == dm.train_dataset.scale == dm.val_dataset.scale == 2


class _TinySR(L.LightningModule):
    """Records the training batches it sees; a 3x3 conv and a pixel shuffle."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 3 * scale**2, 3, padding=1), nn.PixelShuffle(scale))
        self.seen: list[torch.Tensor] = []
        self.names: list[str] = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        _check_batch(batch, 2, whole=False)
        self.seen.append(batch["hr"].clone())
        return F.l1_loss(self.body(batch["lr"]), batch["hr"])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        _check_batch(batch, 2, whole=True)
        self.names += batch["name"]

    def test_step(self, batch: dict, batch_idx: int) -> None:
        _check_batch(batch, 2, whole=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_lightning_fit_uses_the_sampler_epochs(image_folder: Callable, tiny_trainer: Callable) -> None:
    folder = str(image_folder([(40, 40)] * 5))
    kwargs = {"train_dir": folder, "test_dir": folder, "patch_size": 16, "batch_size": 2, "val_fraction": 0.2}
    trainer = tiny_trainer(max_epochs=2, num_sanity_val_steps=0, log_every_n_steps=1)
    model, dm = _TinySR(2), SRDataModule(**kwargs)
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm, verbose=False)
    assert model.names == ["img0", "img0"]  # one validation image, validated after each epoch
    loader = SRDataModule(**kwargs).train_dataloader()
    expected = [batch["hr"] for batch in _batches(loader) + _batches(loader)]
    assert len(model.seen) == len(expected) == 4
    assert all(torch.equal(a, b) for a, b in zip(model.seen, expected, strict=True))


def test_without_samples_fit_needs_train_dir_and_says_so(image_folder: Callable, tiny_trainer: Callable) -> None:
    val = str(image_folder([(40, 40)], name="val"))
    dm = SRDataModule(use_samples=False, val_dir=val, patch_size=16)
    with pytest.raises(ValueError, match=r"--data\.train_dir \(data\.train_dir in a YAML config") as error:
        dm.setup("fit")
    assert "use_samples=False" in str(error.value) and "HR training images" in str(error.value)
    model = _TinySR(2)
    with pytest.raises(ValueError, match=r"--data\.train_dir"):
        tiny_trainer(max_epochs=1).fit(model, datamodule=SRDataModule(use_samples=False, patch_size=16))
    assert model.seen == []  # it failed before the first training step
    with pytest.raises(ValueError, match=r"No validation images: set --data\.val_dir"):
        SRDataModule(use_samples=False).setup("validate")


def test_without_samples_validate_and_test_use_their_own_folders(
    image_folder: Callable, tiny_trainer: Callable
) -> None:
    folder = str(image_folder([(40, 40), (40, 40)]))
    dm = SRDataModule(use_samples=False, val_dir=folder, test_dir=folder)
    model = _TinySR(2)
    trainer = tiny_trainer()
    trainer.validate(model, datamodule=dm, verbose=False)
    trainer.test(model, datamodule=dm, verbose=False)
    assert model.names == ["img0", "img1"] and dm.train_dataset is None
    dm = SRDataModule(use_samples=False, predict_dir=folder)
    dm.setup()  # stage None: what the folders allow, no training set
    assert dm.train_dataset is None and dm.val_dataset is None and len(dm.predict_dataset) == 2
    trained = SRDataModule(use_samples=False, train_dir=folder, val_dir=folder, patch_size=16)
    trained.setup("fit")
    assert len(trained.train_dataset) == 2
