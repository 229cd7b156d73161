"""PairedImageDataset: HR-only folders, the Set5 and DIV2K paired layouts, and their errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image

from sr_lightning.data import (
    PairedImageDataset,
    SampleSource,
    bicubic_lr,
    collate_whole_images,
    find_pairs,
    read_image,
    to_float,
)


def _paired_folder(tmp: Path, write_image: Callable, lr_names: dict[str, str], scale: int = 2) -> Path:
    """HR/<name>.png of 20x26 pixels and LR_bicubic/X<scale>/<lr name> made by bicubic_lr."""
    for i, (hr_name, lr_name) in enumerate(lr_names.items()):
        hr_path = write_image(tmp / "HR" / hr_name, 20, 26, seed=i)
        lr = bicubic_lr(to_float(read_image(hr_path)), scale)
        lr_path = tmp / "LR_bicubic" / f"X{scale}" / lr_name
        lr_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((lr * 255).round().byte().permute(1, 2, 0).numpy()).save(lr_path)
    return tmp


def test_hr_only_folder_crops_and_makes_lr(image_folder: Callable) -> None:
    folder = image_folder([(31, 26), (24, 24)])
    dataset = PairedImageDataset(str(folder), scale=3)
    assert len(dataset) == 2 and dataset.names == ["img0", "img1"]
    item = dataset[0]
    hr = to_float(read_image(folder / "img0.png"))[:, :30, :24]
    assert item["name"] == "img0" and torch.equal(item["hr"], hr)
    assert torch.equal(item["lr"], bicubic_lr(hr, 3)) and item["lr"].shape == (3, 10, 8)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_set5_layout_uses_the_official_files(set5_dir: Path, scale: int) -> None:
    dataset = PairedImageDataset(set5_dir, scale=scale)
    assert dataset.names == [f"img_00{i}" for i in range(1, 6)]
    for index in (0, 4):
        item = dataset[index]
        stem = f"img_00{index + 1}_SRF_{scale}"
        official_lr = to_float(read_image(set5_dir / "LR_bicubic" / f"X{scale}" / f"{stem}_LR.png"))
        assert torch.equal(item["lr"], official_lr)
        assert torch.equal(item["hr"], to_float(read_image(set5_dir / "HR" / f"{stem}_HR.png")))
        assert item["hr"].shape[1:] == tuple(scale * n for n in item["lr"].shape[1:])


def test_set5_scale_switch_finds_the_other_files(set5_dir: Path) -> None:
    dataset = PairedImageDataset(set5_dir, scale=2)
    assert dataset[0]["lr"].shape == (3, 256, 256)
    dataset.scale = 3
    assert dataset[0]["lr"].shape == (3, 170, 170) and dataset[0]["hr"].shape == (3, 510, 510)


def test_common_layout_with_and_without_x_suffix(tmp_path: Path, write_image: Callable) -> None:
    root = _paired_folder(tmp_path / "set", write_image, {"a.png": "ax2.png", "b.png": "b.png"})
    dataset = PairedImageDataset(root, scale=2)
    assert dataset.names == ["a", "b"]
    for name, lr_name in (("a", "ax2.png"), ("b", "b.png")):
        item = dataset[dataset.names.index(name)]
        assert torch.equal(item["lr"], to_float(read_image(root / "LR_bicubic" / "X2" / lr_name)))
        assert item["hr"].shape == (3, 20, 26) and item["lr"].shape == (3, 10, 13)


def test_missing_lr_file_names_hr_and_expected_paths(tmp_path: Path, write_image: Callable) -> None:
    root = _paired_folder(tmp_path / "set", write_image, {"a.png": "ax2.png"})
    write_image(root / "HR" / "lonely.png", 20, 20)
    with pytest.raises(FileNotFoundError) as info:
        PairedImageDataset(root, scale=2)
    message = str(info.value)
    assert str(root / "HR" / "lonely.png") in message
    assert str(root / "LR_bicubic" / "X2" / "lonely.png") in message and "lonelyx2.png" in message


def test_lr_size_mismatch_names_both_files(tmp_path: Path, write_image: Callable) -> None:
    root = _paired_folder(tmp_path / "set", write_image, {"a.png": "a.png"})
    write_image(root / "LR_bicubic" / "X2" / "a.png", 9, 13)  # should be 10x13
    with pytest.raises(ValueError, match=r"LR_bicubic/X2/a\.png is 9x13.*HR/a\.png \(20x26"):
        PairedImageDataset(root, scale=2)


def test_hr_folder_without_lr_of_this_scale_makes_lr(tmp_path: Path, write_image: Callable) -> None:
    root = _paired_folder(tmp_path / "set", write_image, {"a.png": "a.png"})
    assert find_pairs(root, 4)[0].lr is None
    item = PairedImageDataset(root, scale=4)[0]
    assert item["hr"].shape == (3, 20, 24) and torch.equal(item["lr"], bicubic_lr(item["hr"], 4))


def test_sources_and_errors() -> None:
    dataset = PairedImageDataset([SampleSource("coffee")], scale=3)
    item = dataset[0]
    assert item["name"] == "coffee" and item["hr"].shape == (3, 399, 600) and item["lr"].shape == (3, 133, 200)
    with pytest.raises(ValueError, match="empty list"):
        PairedImageDataset([], scale=2)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        PairedImageDataset("/nowhere/at/all", scale=2)


def test_corrupt_hr_is_skipped_or_raised(image_folder: Callable, truncate: Callable) -> None:
    folder = image_folder([(20, 20), (20, 20)])
    truncate(folder / "img0.png")
    with pytest.raises(OSError, match=r"img0\.png"):
        PairedImageDataset(folder, scale=2)
    with pytest.warns(UserWarning, match=r"img0\.png"):
        assert PairedImageDataset(folder, scale=2, skip_corrupt=True).names == ["img1"]


def test_collate_stacks_equal_sizes_and_names_unequal_ones() -> None:
    def item(name: str, size: int) -> dict:
        return {"lr": torch.zeros(3, size // 2, size // 2), "hr": torch.zeros(3, size, size), "name": name}

    batch = collate_whole_images([item("a", 8), item("b", 8)])
    assert batch["lr"].shape == (2, 3, 4, 4) and batch["name"] == ["a", "b"]
    with pytest.raises(ValueError, match=r"a 8x8, b 6x6.*batch size of 1"):
        collate_whole_images([item("a", 8), item("b", 6)])


def test_images_too_small_for_the_metrics_are_skipped_when_the_dataset_is_built(tmp_path, write_images) -> None:
    val = write_images(tmp_path / "val", count=3, size=(48, 48))
    Image.new("RGB", (5000, 8), (10, 200, 30)).save(val / "strip.png")  # 4 rows left after the x2 border crop
    with pytest.warns(UserWarning, match=r"Skipping .*strip\.png: its size 8x5000 is smaller than what PSNR/SSIM"):
        scored = PairedImageDataset(val, scale=2, for_metrics=True)
    assert len(scored) == 3 and "strip" not in scored.names
    assert "strip" in PairedImageDataset(val, scale=2).names  # predicting needs no metrics: it is kept there


def test_a_fit_with_a_too_small_validation_image_validates_the_others(tmp_path, write_images, tiny_trainer) -> None:
    from sr_lightning import EDSR, SRDataModule, SRMetrics, SRModule

    val = write_images(tmp_path / "val", count=2, size=(48, 48))
    Image.new("RGB", (5000, 8), (10, 200, 30)).save(val / "strip.png")
    data = SRDataModule(scale=2, train_dir=str(write_images(tmp_path / "train")), val_dir=str(val), patch_size=24)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, callbacks=[SRMetrics()])
    with pytest.warns(UserWarning, match=r"strip\.png"):
        trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    assert torch.isfinite(trainer.callback_metrics["val/psnr_y"])
