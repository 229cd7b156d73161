"""The embedded scikit-image photographs and their fixed train/validation split."""

from __future__ import annotations

import pytest
import torch
from skimage import data

from sr_lightning.data import DEFAULT_TRAIN_NAMES, DEFAULT_VAL_NAMES, SAMPLE_NAMES, SampleSource, load_sample
from sr_lightning.data.embedded_photos import sample_size


def test_every_sample_loads_offline_as_uint8_rgb() -> None:
    assert tuple(sorted(SAMPLE_NAMES)) == SAMPLE_NAMES and len(SAMPLE_NAMES) == 9
    for name in SAMPLE_NAMES:
        img = load_sample(name)
        assert img.dtype == torch.uint8 and img.shape[0] == 3 and min(img.shape[1:]) >= 300, name
        assert sample_size(name) == tuple(img.shape[1:])


def test_split_is_fixed_disjoint_and_complete() -> None:
    assert DEFAULT_VAL_NAMES == ("chelsea", "coffee")
    assert not set(DEFAULT_TRAIN_NAMES) & set(DEFAULT_VAL_NAMES)
    assert sorted(DEFAULT_TRAIN_NAMES + DEFAULT_VAL_NAMES) == list(SAMPLE_NAMES)
    assert "cat" not in SAMPLE_NAMES  # chelsea mirrored: it would leak the validation image into training


def test_motorcycle_is_the_left_stereo_view() -> None:
    assert torch.equal(load_sample("motorcycle"), torch.from_numpy(data.stereo_motorcycle()[0]).permute(2, 0, 1))


def test_unknown_name_lists_the_samples() -> None:
    with pytest.raises(ValueError, match=r"'cat'.*astronaut"):
        load_sample("cat")
    with pytest.raises(ValueError, match="'kitten'"):
        SampleSource("kitten")


def test_the_old_module_name_still_works_and_says_where_the_photos_moved() -> None:
    import importlib
    import sys

    sys.modules.pop("sr_lightning.data.samples", None)
    with pytest.warns(DeprecationWarning, match="sr_lightning.data.embedded_photos"):
        old = importlib.import_module("sr_lightning.data.samples")
    assert old.load_sample is load_sample
