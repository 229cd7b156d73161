"""SeededPatchSampler: keys from (seed, epoch) only, set_epoch, and advancing by itself."""

from __future__ import annotations

import pytest

from sr_lightning.data import SeededPatchSampler


def test_each_pass_is_a_permutation_with_draw_seeds() -> None:
    keys = list(SeededPatchSampler(50, seed=3))
    assert sorted(index for index, _ in keys) == list(range(50))
    assert len({seed for _, seed in keys}) == 50
    assert [index for index, _ in keys] != list(range(50))


def test_same_seed_and_epoch_same_keys_different_seed_different_keys() -> None:
    assert list(SeededPatchSampler(20, seed=1)) == list(SeededPatchSampler(20, seed=1))
    assert list(SeededPatchSampler(20, seed=1)) != list(SeededPatchSampler(20, seed=2))


def test_set_epoch_selects_the_pass() -> None:
    sampler = SeededPatchSampler(20, seed=0)
    sampler.set_epoch(5)
    fifth = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) != fifth
    sampler.set_epoch(5)
    assert list(sampler) == fifth
    with pytest.raises(ValueError, match="-1"):
        sampler.set_epoch(-1)


def test_advances_after_a_complete_pass_only() -> None:
    sampler = SeededPatchSampler(10, seed=0)
    first = list(sampler)
    assert sampler.epoch == 1
    second = list(sampler)
    assert second != first and sampler.epoch == 2
    partial = iter(sampler)
    next(partial)
    del partial
    assert sampler.epoch == 2
    other = SeededPatchSampler(10, seed=0)
    other.set_epoch(1)
    assert list(other) == second


def test_rejects_empty_dataset() -> None:
    with pytest.raises(ValueError, match="num_items >= 1, got 0"):
        SeededPatchSampler(0)
