"""LRImageDataset and SRDataModule's predict data: LR inputs as they are, relative paths, paired folders, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning.data import LRImageDataset, SRDataModule, read_image, to_float


def test_plain_folder_items_are_the_lr_images_with_relative_paths(tmp_path: Path, write_image: Callable) -> None:
    root = tmp_path / "inputs"
    write_image(root / "b.png", 7, 13, seed=1)  # odd sizes: inputs need not be multiples of anything
    write_image(root / "sub" / "deeper" / "a.jpg", 9, 5, seed=2)
    Image.new("LA", (6, 4), (120, 30)).save(root / "sub" / "gray_alpha.png")
    Image.fromarray(np.full((3, 5), 65535 // 2, dtype=np.uint16)).save(root / "sixteen.png")
    dataset = LRImageDataset(root, scale=4)
    assert dataset.paths == ["b.png", "sixteen.png", "sub/deeper/a.jpg", "sub/gray_alpha.png"]
    items = [dataset[i] for i in range(len(dataset))]
    assert [item["name"] for item in items] == ["b", "sixteen", "a", "gray_alpha"]
    for item, path in zip(items, dataset.paths, strict=True):
        assert set(item) == {"lr", "name", "path"} and item["path"] == path
        assert torch.equal(item["lr"], to_float(read_image(root / path)))  # 8-bit RGB, as the library reads it
    assert items[3]["lr"].shape == (3, 4, 6) and torch.all(items[3]["lr"] == 120 / 255)  # alpha dropped
    assert torch.all(items[1]["lr"] == 127 / 255)  # 16-bit rounded to 8 bits
    assert sorted(dataset.input_files) == sorted(root / path for path in dataset.paths)
    dataset.scale = 2  # a plain folder's inputs do not depend on the scale
    assert dataset.paths[0] == "b.png" and items[0]["lr"].shape == dataset[0]["lr"].shape


def test_paired_folder_upscales_its_lr_files(tmp_path: Path, write_image: Callable) -> None:
    root = tmp_path / "Set5"
    write_image(root / "HR" / "baby_SRF_2_HR.png", 16, 12)
    write_image(root / "LR_bicubic" / "X2" / "baby_SRF_2_LR.png", 8, 6)
    write_image(root / "HR" / "more" / "0801.png", 16, 16)
    write_image(root / "LR_bicubic" / "X2" / "more" / "0801x2.png", 8, 8)
    dataset = LRImageDataset(root, scale=2)
    assert dataset.paths == ["baby.png", "more/0801.png"]
    item = dataset[1]
    assert item["name"] == "0801" and item["path"] == "more/0801.png"
    assert torch.equal(item["lr"], to_float(read_image(root / "LR_bicubic/X2/more/0801x2.png")))
    assert root / "HR" / "more" / "0801.png" in dataset.input_files  # results must not overwrite the HR files either
    with pytest.raises(FileNotFoundError, match=r"Set5 is a paired folder \(HR/\) without .*X4 \(LR folders: x2\)"):
        LRImageDataset(root, scale=4)
    with pytest.raises(FileNotFoundError, match=r"without .*X3"):
        dataset.scale = 3
    assert dataset.scale == 2


def test_corrupt_inputs_raise_or_are_skipped(tmp_path: Path, write_image: Callable, truncate: Callable) -> None:
    root = tmp_path / "inputs"
    write_image(root / "good.png", 8, 8)
    truncate(write_image(root / "broken.png", 8, 8))
    with pytest.raises(OSError, match=r"broken\.png"):
        LRImageDataset(root, scale=2)
    with pytest.warns(UserWarning, match=r"broken\.png"):
        assert LRImageDataset(root, scale=2, skip_corrupt=True).paths == ["good.png"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        LRImageDataset(tmp_path / "nowhere", scale=2)


def test_datamodule_predict_batches_need_no_hr(tmp_path: Path, write_image: Callable) -> None:
    root = tmp_path / "inputs"
    for name in ("x.png", "sub/y.png"):
        write_image(root / name, 6, 10)
    dm = SRDataModule(scale=4, predict_dir=str(root), val_batch_size=2, use_samples=False)
    dm.setup("predict")
    batch = next(iter(dm.predict_dataloader()))
    assert set(batch) == {"lr", "name", "path"}
    assert batch["lr"].shape == (2, 3, 6, 10) and batch["path"] == ["sub/y.png", "x.png"]
    write_image(root / "a.png", 7, 10)
    dm = SRDataModule(predict_dir=str(root), val_batch_size=2)
    with pytest.raises(ValueError, match=r"a 7x10, y 6x10.*batch size of 1"):
        list(dm.predict_dataloader())
