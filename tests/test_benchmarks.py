"""The measuring scripts under benchmarks/ count what they claim to (counts, not timings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from torch import nn

from sr_lightning.models import EDSR

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_zoo_counts_macs_of_a_convolution_by_hand() -> None:
    zoo = _load("model_zoo")
    conv = zoo.build(lambda _: nn.Conv2d(3, 8, 3, padding=1), 0)
    params, macs = zoo.count(conv, (1, 3, 10, 12))
    assert params == 8 * 3 * 9 + 8
    assert macs == 8 * 3 * 9 * 10 * 12  # one multiply-accumulate per weight per output pixel


def test_model_zoo_table_lists_every_generator_with_edsr_baseline_published_size(capsys) -> None:
    zoo = _load("model_zoo")
    table = zoo.main(["--size", "16", "--scales", "2"])
    for name in zoo.GENERATORS:
        assert f"`{name}`" in table
    row = next(line for line in table.splitlines() if line.startswith("| `EDSR-baseline`"))
    assert row.split("|")[3].strip() == "1.37"  # EDSR-baseline x2: 1.37 M parameters (Lim et al. 2017)
    params, macs = zoo.count(zoo.build(lambda s: EDSR(scale=s), 2), (1, 3, 16, 16))
    assert row.split("|")[4].strip() == f"{macs / 1e9:.1f}"
    assert params == pytest.approx(1.37e6, rel=0.01)
