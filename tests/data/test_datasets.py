"""TrainPatchDataset: patch shapes and values, the LR degradation, skipping, caching and determinism."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from sr_lightning.data import (
    FileSource,
    ImageReadError,
    SampleSource,
    TrainPatchDataset,
    imresize,
    read_image,
    to_float,
)


def _sources(folder: Path) -> list[FileSource]:
    return [FileSource(path) for path in sorted(folder.glob("*.png"))]


def _quantized_bicubic(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB bicubic of ``hr`` rounded to 8-bit levels, in float64: float32 rounding can tip a value lying within a
    few ulps of a half level (measured: 5 of 41,040 x2 values) to the other level."""
    return ((imresize(hr.double(), 1 / scale).clamp(0, 1) * 255).round() / 255).float()


def _find_crop(img: torch.Tensor, patch: torch.Tensor) -> tuple[int, int] | None:
    size = patch.shape[-1]
    for top in range(img.shape[1] - size + 1):
        for left in range(img.shape[2] - size + 1):
            if torch.equal(img[:, top : top + size, left : left + size], patch):
                return top, left
    return None


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_patch_shapes_dtypes_and_range(image_folder: Callable, scale: int) -> None:
    dataset = TrainPatchDataset(_sources(image_folder([(40, 50), (36, 36)])), scale=scale, patch_size=24, repeat=3)
    assert len(dataset) == 6
    for index in range(len(dataset)):
        item = dataset[index]
        assert set(item) == {"lr", "hr"}
        assert item["hr"].shape == (3, 24, 24) and item["lr"].shape == (3, 24 // scale, 24 // scale)
        for tensor in item.values():
            assert tensor.dtype == torch.float32 and tensor.min() >= 0 and tensor.max() <= 1
        assert torch.equal(item["lr"] * 255, (item["lr"] * 255).round())  # 8-bit levels


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_unaugmented_draw_is_a_crop_and_its_quantized_bicubic(image_folder: Callable, scale: int) -> None:
    sources = _sources(image_folder([(30, 33)]))
    dataset = TrainPatchDataset(sources, scale=scale, patch_size=24, augment=False)
    item = dataset[(0, 1234)]
    hr_uint8 = (item["hr"] * 255).round().to(torch.uint8)
    assert _find_crop(read_image(sources[0].path), hr_uint8) is not None
    assert torch.equal(item["lr"], _quantized_bicubic(item["hr"], scale))


def test_augmented_draws_are_flips_or_rotations_of_crops(image_folder: Callable) -> None:
    sources = _sources(image_folder([(28, 28)]))
    img = read_image(sources[0].path)
    dataset = TrainPatchDataset(sources, scale=2, patch_size=24, augment=True)
    seen = set()
    for draw_seed in range(24):
        item = dataset[(0, draw_seed)]
        hr = (item["hr"] * 255).round().to(torch.uint8)
        variants = {
            (k, transpose): hr.transpose(1, 2).rot90(k, (1, 2)) if transpose else hr.rot90(k, (1, 2))
            for k in range(4)
            for transpose in (False, True)
        }
        matches = [key for key, patch in variants.items() if _find_crop(img, patch) is not None]
        assert matches, f"draw {draw_seed} is not a flip/rotation of a crop"
        seen.add(matches[0])
        assert torch.equal(item["lr"], _quantized_bicubic(item["hr"], 2))
    assert len(seen) >= 4  # several different orientations are drawn


def test_keys_are_deterministic(image_folder: Callable) -> None:
    dataset = TrainPatchDataset(_sources(image_folder([(40, 40), (50, 44)])), scale=2, patch_size=16, seed=7)
    assert torch.equal(dataset[(1, 99)]["hr"], dataset[(1, 99)]["hr"])
    assert not torch.equal(dataset[(1, 99)]["hr"], dataset[(1, 100)]["hr"])
    assert torch.equal(dataset[1]["hr"], dataset[(1, 7 + 1)]["hr"])  # a plain index uses seed + index
    with pytest.raises(IndexError, match="index 2 out of range"):
        dataset[2]


def test_patch_size_must_be_a_multiple_of_scale(image_folder: Callable) -> None:
    with pytest.raises(ValueError, match=r"patch_size 25 .* scale 2"):
        TrainPatchDataset(_sources(image_folder([(40, 40)])), scale=2, patch_size=25)
    dataset = TrainPatchDataset(_sources(image_folder([(40, 40)])), scale=2, patch_size=24)
    with pytest.raises(ValueError, match=r"patch_size 24 .* scale 5"):
        dataset.scale = 5


def test_scale_setter_switches_the_lr_size(image_folder: Callable) -> None:
    dataset = TrainPatchDataset(_sources(image_folder([(40, 40)])), scale=2, patch_size=24)
    assert dataset[0]["lr"].shape == (3, 12, 12)
    dataset.scale = 4
    assert dataset.scale == 4 and dataset[0]["lr"].shape == (3, 6, 6)


def test_small_images_are_skipped_with_a_warning(image_folder: Callable) -> None:
    folder = image_folder([(40, 40), (20, 60), (60, 23)])
    with pytest.warns(UserWarning) as record:
        dataset = TrainPatchDataset(_sources(folder), scale=2, patch_size=24)
    messages = [str(warning.message) for warning in record]
    assert any("img1.png" in m and "20x60" in m for m in messages)
    assert any("img2.png" in m and "60x23" in m for m in messages)
    assert [source.name for source in dataset.sources] == ["img0"]


def test_no_usable_image_names_the_origin(image_folder: Callable) -> None:
    folder = image_folder([(10, 10)])
    with pytest.warns(UserWarning, match="img0"), pytest.raises(ValueError, match="train_dir /some/where"):
        TrainPatchDataset(_sources(folder), scale=2, patch_size=24, origin="train_dir /some/where")


def test_corrupt_files_raise_or_are_skipped(image_folder: Callable, truncate: Callable) -> None:
    folder = image_folder([(40, 40), (40, 40)])
    truncate(folder / "img1.png")
    with pytest.raises(ImageReadError, match=r"img1\.png"):
        TrainPatchDataset(_sources(folder), scale=2, patch_size=24)
    with pytest.warns(UserWarning, match=r"img1\.png"):
        dataset = TrainPatchDataset(_sources(folder), scale=2, patch_size=24, skip_corrupt=True)
    assert [source.name for source in dataset.sources] == ["img0"]


def test_decode_errors_at_draw_time_name_the_file(tmp_path: Path, write_image: Callable, truncate: Callable) -> None:
    path = truncate(write_image(tmp_path / "photo.jpg", 64, 64))  # a truncated JPEG passes verify()
    dataset = TrainPatchDataset([FileSource(path)], scale=2, patch_size=24)
    with pytest.raises(ImageReadError, match=r"photo\.jpg"):
        dataset[0]
    with pytest.raises(ImageReadError, match=r"photo\.jpg"):  # caching decodes everything up front
        TrainPatchDataset([FileSource(path)], scale=2, patch_size=24, cache=True)


def test_cache_gives_the_same_items(image_folder: Callable) -> None:
    sources = _sources(image_folder([(40, 40), (44, 52)]))
    plain = TrainPatchDataset(sources, scale=2, patch_size=16)
    cached = TrainPatchDataset(sources, scale=2, patch_size=16, cache=True)
    for key in [(0, 5), (1, 6), (1, 123456789)]:
        assert torch.equal(plain[key]["hr"], cached[key]["hr"])
        assert torch.equal(plain[key]["lr"], cached[key]["lr"])


def test_embedded_sample_source() -> None:
    dataset = TrainPatchDataset([SampleSource("colorwheel")], scale=3, patch_size=48)
    item = dataset[0]
    assert item["lr"].shape == (3, 16, 16)
    hr = (item["hr"] * 255).round().to(torch.uint8)
    assert torch.equal(to_float(hr), item["hr"])


def test_no_warning_for_good_images(image_folder: Callable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrainPatchDataset(_sources(image_folder([(40, 40)])), scale=2, patch_size=24)
