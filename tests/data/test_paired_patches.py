"""PairedPatchDataset and paired training in SRDataModule: aligned crops, the same flip on both, both folder layouts,
reproducible batches, caches, scale switches and the errors that name the files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from sr_lightning.data import PairedFolder, PairedPatchDataset, SRDataModule, bicubic_lr, read_image, to_float
from sr_lightning.data.transforms import dihedral


def _save(path: Path, pixels: torch.Tensor) -> Path:
    """Save a (3, H, W) uint8 tensor as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(path)
    return path


def _noise(height: int, width: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _box_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The 8-bit mean of each scale x scale block: a degradation whose every LR pixel sees only its own HR block,
    so the LR patch of an aligned crop is exactly the box-downscaled HR patch, borders included."""
    hr = hr[..., : hr.shape[-2] - hr.shape[-2] % scale, : hr.shape[-1] - hr.shape[-1] % scale]
    return F.avg_pool2d(hr.double()[None], scale)[0].round().to(torch.uint8)


@pytest.fixture
def box_folder(tmp_path: Path) -> Callable[..., Path]:
    """``box_folder(sizes, scales=(2,), name="pairs")``: a paired folder HR/img<i>.png + LR_bicubic/X<s>/img<i>.png,
    the LR images made by :func:`_box_lr`."""

    def make(sizes: list[tuple[int, int]], scales: tuple[int, ...] = (2,), name: str = "pairs") -> Path:
        root = tmp_path / name
        for i, (height, width) in enumerate(sizes):
            hr = _save(root / "HR" / f"img{i}.png", _noise(height, width, seed=i))
            for scale in scales:
                _save(root / "LR_bicubic" / f"X{scale}" / f"img{i}.png", _box_lr(read_image(hr), scale))
        return root

    return make


def _transform_of(item: dict, plain: dict) -> int:
    """The one dihedral transform that maps the un-augmented draw to ``item``, checked on both patches."""
    found = [k for k in range(8) if torch.equal(dihedral(plain["lr"], k), item["lr"])]
    assert len(found) == 1 and torch.equal(dihedral(plain["hr"], found[0]), item["hr"])
    return found[0]


def _assert_box_aligned(item: dict, scale: int) -> None:
    assert item["hr"].shape[1:] == tuple(scale * n for n in item["lr"].shape[1:])
    hr_levels, lr_levels = (item["hr"] * 255).round(), (item["lr"] * 255).round()
    expected = F.avg_pool2d(hr_levels.double()[None], scale)[0].round()
    assert torch.equal(expected, lr_levels.double())


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_patches_are_aligned_and_flipped_together(box_folder: Callable, scale: int) -> None:
    root = box_folder([(60, 72), (48, 50)], scales=(scale,))
    options = {"scale": scale, "patch_size": 12 * (4 // scale + 1), "repeat": 8}
    dataset, plain = PairedPatchDataset(root, **options), PairedPatchDataset(root, **options, augment=False)
    transforms = set()
    for index in range(len(dataset)):
        item = dataset[(index, 1000 + index)]
        _assert_box_aligned(item, scale)  # the same crop position on both
        transforms.add(_transform_of(item, plain[(index, 1000 + index)]))  # the same flip/rotation on both
    assert len(transforms) > 3  # the draws did flip and rotate


def test_crop_positions_follow_the_draw_seed(box_folder: Callable) -> None:
    root = box_folder([(40, 52)], scales=(4,))
    hr_full, lr_full = read_image(root / "HR/img0.png"), read_image(root / "LR_bicubic/X4/img0.png")
    dataset = PairedPatchDataset(root, scale=4, patch_size=16, augment=False)
    for draw_seed in (0, 7, 123):
        generator = torch.Generator().manual_seed(draw_seed)
        top = int(torch.randint(0, 10 - 4 + 1, (1,), generator=generator))  # LR image 10x13, LR patch 4x4
        left = int(torch.randint(0, 13 - 4 + 1, (1,), generator=generator))
        item = dataset[(0, draw_seed)]
        assert torch.equal(item["lr"], to_float(lr_full[:, top : top + 4, left : left + 4]))
        assert torch.equal(item["hr"], to_float(hr_full[:, 4 * top : 4 * top + 16, 4 * left : 4 * left + 16]))


def test_bicubic_lr_folder_matches_the_library_bicubic_inside_the_patch(tmp_path: Path) -> None:
    root = tmp_path / "pairs"
    hr = _save(root / "HR/photo.png", _noise(64, 80, seed=3))
    _save(root / "LR_bicubic/X2/photo.png", (bicubic_lr(to_float(read_image(hr)), 2) * 255).round().to(torch.uint8))
    dataset = PairedPatchDataset(root, scale=2, patch_size=24, repeat=6)
    for index in range(len(dataset)):
        item = dataset[(index, index)]
        redone = bicubic_lr(item["hr"], 2)
        # The bicubic kernel reaches 2 LR pixels beyond a pixel: inside that margin, cropping commutes with it.
        assert torch.equal(redone[:, 2:-2, 2:-2], item["lr"][:, 2:-2, 2:-2])


def test_div2k_layout_with_train_lr_dir(tmp_path: Path) -> None:
    hr_dir, lr_dir = tmp_path / "DIV2K_train_HR", tmp_path / "DIV2K_train_LR_bicubic" / "X4"
    for i in range(1, 4):
        hr = _save(hr_dir / f"{i:04d}.png", _noise(50, 43, seed=i))  # x4 crops the HR image to 48x40
        _save(lr_dir / f"{i:04d}x4.png", _box_lr(read_image(hr), 4))
    val = _save(tmp_path / "val" / "v.png", _noise(40, 40, seed=9)).parent
    dm = SRDataModule(
        scale=4, train_dir=str(hr_dir), train_lr_dir=str(lr_dir), val_dir=str(val), patch_size=24, batch_size=3
    )
    dm.setup("fit")
    assert isinstance(dm.train_dataset, PairedPatchDataset)
    assert [source.name for source in dm.train_dataset.sources] == ["0001", "0002", "0003"]
    batch = next(iter(dm.train_dataloader()))
    assert batch["lr"].shape == (3, 3, 6, 6) and batch["hr"].shape == (3, 3, 24, 24)
    for lr, hr in zip(batch["lr"], batch["hr"], strict=True):
        _assert_box_aligned({"lr": lr, "hr": hr}, 4)
    with pytest.raises(ValueError, match=r"X4 holds the x4 LR images .* not x2 ones"):
        dm.scale = 2  # one LR folder, one scale
    assert dm.scale == dm.train_dataset.scale == 4


def test_paired_train_dir_is_used_automatically_and_split_keeps_pairs(box_folder: Callable) -> None:
    root = box_folder([(40, 40)] * 4, scales=(2,))
    dm = SRDataModule(scale=2, train_dir=str(root), patch_size=16, batch_size=2, val_fraction=0.5)
    dm.setup("fit")
    assert isinstance(dm.train_dataset, PairedPatchDataset)
    assert [source.name for source in dm.train_dataset.sources] == ["img1", "img3"]
    assert dm.val_dataset.names == ["img0", "img2"]
    val = dm.val_dataset[0]  # the validation image's LR is the folder's file, not a bicubic downscale
    assert torch.equal(val["lr"], to_float(read_image(root / "LR_bicubic/X2/img0.png")))
    for batch in dm.train_dataloader():
        for lr, hr in zip(batch["lr"], batch["hr"], strict=True):
            _assert_box_aligned({"lr": lr, "hr": hr}, 2)


def test_a_paired_folder_without_the_lr_folder_of_the_scale_trains_on_hr_with_bicubic(box_folder: Callable) -> None:
    root = box_folder([(40, 40)] * 3, scales=(2,))
    dm = SRDataModule(scale=4, train_dir=str(root), patch_size=16, val_fraction=0.3)
    dm.setup("fit")
    assert type(dm.train_dataset).__name__ == "TrainPatchDataset"
    names = [source.name for source in dm.train_dataset.sources] + dm.val_dataset.names
    assert sorted(names) == ["img0", "img1", "img2"]  # HR/ only: the x2 LR files are no training images


@pytest.mark.parametrize("cache", ["none", "memory", "disk"])
def test_same_batches_for_any_num_workers_and_cache(box_folder: Callable, tmp_path: Path, cache: str) -> None:
    root = box_folder([(40, 44), (36, 50), (48, 48)], scales=(2,))
    common = {"train_dir": str(root), "val_dir": str(root), "patch_size": 16, "batch_size": 4, "repeat": 4}
    reference = list(SRDataModule(**common, seed=3).train_dataloader())
    assert len(reference) == 3  # 3 pairs x 4 repeats, batches of 4
    options = {"cache": cache, "cache_dir": str(tmp_path / "cache")}
    for workers in (0, 2):
        batches = list(SRDataModule(**common, **options, seed=3, num_workers=workers).train_dataloader())
        for a, b in zip(reference, batches, strict=True):
            assert torch.equal(a["hr"], b["hr"]) and torch.equal(a["lr"], b["lr"])
    if cache == "disk":
        assert len(list((tmp_path / "cache").iterdir())) == 2  # one cache for the HR files, one for the x2 LR files


def test_scale_switch_needs_the_lr_folder_of_the_new_scale(box_folder: Callable) -> None:
    both = box_folder([(48, 48)] * 2, scales=(2, 4), name="both")
    dm = SRDataModule(scale=2, train_dir=str(both), val_dir=str(both), patch_size=24, batch_size=2)
    dm.setup("fit")
    loader = dm.train_dataloader()
    dm.scale = 4
    batch = next(iter(loader))
    assert batch["lr"].shape == (2, 3, 6, 6)
    _assert_box_aligned({"lr": batch["lr"][0], "hr": batch["hr"][0]}, 4)
    only_two = box_folder([(48, 48)] * 2, scales=(2,), name="only_two")
    dm = SRDataModule(scale=2, train_dir=str(only_two), val_dir=str(both), patch_size=24)
    dm.setup("fit")
    with pytest.raises(ValueError, match=r"only_two has no LR_bicubic/X4/ folder \(LR folders: x2\)"):
        dm.scale = 4
    assert dm.scale == dm.train_dataset.scale == dm.val_dataset.scale == 2


def test_size_mismatch_names_both_files(box_folder: Callable) -> None:
    root = box_folder([(40, 40)] * 2, scales=(2,))
    _save(root / "LR_bicubic/X2/img1.png", _noise(10, 10, seed=0))  # the x4 size in the x2 folder
    with pytest.raises(ValueError, match=r"LR image .*X2/img1\.png is 10x10.*HR image .*HR/img1\.png \(40x40"):
        PairedPatchDataset(root, scale=2, patch_size=16)


def test_missing_lr_file_and_small_or_corrupt_images(box_folder: Callable, truncate: Callable) -> None:
    root = box_folder([(40, 40), (12, 40), (40, 40)], scales=(2,))
    with pytest.warns(UserWarning, match=r"Skipping .*img1\.png: its size 12x40 is smaller than the 16x16 patch"):
        dataset = PairedPatchDataset(root, scale=2, patch_size=16)
    assert [source.name for source in dataset.sources] == ["img0", "img2"]
    truncate(root / "LR_bicubic/X2/img2.png")
    with pytest.warns(UserWarning, match=r"img1\.png"), pytest.raises(OSError, match=r"X2/img2\.png"):
        PairedPatchDataset(root, scale=2, patch_size=16, cache="memory")
    with pytest.warns(UserWarning) as record:
        kept = PairedPatchDataset(root, scale=2, patch_size=16, skip_corrupt=True, cache="memory")
    assert [source.name for source in kept.sources] == ["img0"]
    assert re.search(r"Skipping the pair .*HR/img2\.png, .*X2/img2\.png", str(record[-1].message))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"No usable training pair in .*HR with LR"):
        PairedPatchDataset(root / "HR", scale=2, patch_size=64, lr_dir=root / "LR_bicubic/X2")
    (root / "LR_bicubic/X2/img0.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"No LR image for .*HR/img0\.png.*img0x2\.png"):
        PairedPatchDataset(root, scale=2, patch_size=16)


def test_datamodule_argument_errors(box_folder: Callable) -> None:
    root = box_folder([(40, 40)] * 2, scales=(2,))
    with pytest.raises(ValueError, match=r"train_lr_dir='lr'.*train_dir is not set"):
        SRDataModule(train_lr_dir="lr")
    dm = SRDataModule(train_dir=str(root), val_dir=str(root), patch_size=16, degrade_on_device=True)
    with pytest.raises(ValueError, match=r"degrade_on_device=True .* has LR image files.*degrade_on_device=false"):
        dm.setup("fit")
    with pytest.raises(ValueError, match=r"lr_scale"):
        PairedFolder(root / "HR", lr_dir=root / "LR_bicubic/X2")


def test_set5_official_lr_files_are_aligned_at_every_scale(set5_dir: Path) -> None:
    dm = SRDataModule(scale=2, train_dir=str(set5_dir), val_dir=str(set5_dir), patch_size=48, batch_size=5, repeat=2)
    dm.setup("fit")
    assert [source.name for source in dm.train_dataset.sources] == [f"img_00{i}" for i in range(1, 6)]
    for scale in (2, 3, 4):
        dm.scale = scale  # _SRF_<s>_ files: each scale has its own HR and LR files
        for batch in dm.train_dataloader():
            inside = (bicubic_lr(batch["hr"], scale) - batch["lr"])[..., 2:-2, 2:-2].abs()
            shifted = (bicubic_lr(batch["hr"], scale)[..., 2:-3, 2:-2] - batch["lr"][..., 3:-2, 2:-2]).abs()
            # MATLAB's files differ from the library's bicubic by a level or two here and there; one LR pixel off
            # would differ everywhere.
            assert inside.max() <= 2 / 255 + 1e-6 and inside.mean() < 0.2 / 255 < 2 / 255 < shifted.mean()
