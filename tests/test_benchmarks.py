"""The measuring scripts under benchmarks/ run at tiny sizes and report what they claim to (never their timings)."""

from __future__ import annotations

import importlib.util
import math
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


def _zoo_rows(table: str) -> dict[str, list[str]]:
    """The generator rows of model_zoo's markdown table, by generator name: the cells after name and seed."""
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[2:]
    return rows


def test_model_zoo_table_lists_every_generator_with_edsr_baseline_published_size(capsys) -> None:
    zoo = _load("model_zoo")
    small = _zoo_rows(zoo.main(["--size", "32", "--scales", "2"]))
    large = _zoo_rows(zoo.main(["--size", "64", "--scales", "2"]))
    assert set(small) == set(large) == set(zoo.GENERATORS)
    assert small["EDSR-baseline"][0] == "1.37"  # EDSR-baseline x2: 1.37 M parameters (Lim et al. 2017)
    for name, (params, macs) in small.items():
        assert float(params) > 0 and float(macs) > 0, name
        # fully convolutional networks: the parameters do not depend on the input, the MACs grow with its area
        assert large[name][0] == params, name
        assert float(large[name][1]) == pytest.approx(4 * float(macs), rel=0.1), name
    assert "`SRGANDiscriminator` (default width) on a 128x128 HR patch" in capsys.readouterr().out


def test_data_throughput_reports_every_loader_the_ratio_and_the_training_step(tmp_path, capsys) -> None:
    bench = _load("data_throughput")
    tiny = ["--images", "2", "--size", "64x40", "--patch", "24", "--batch", "2", "--batches", "3", "--steps", "1"]
    options = ["--workers", "0", "--threads", "1", "--device", "cpu", "--fed-steps", "1", "--uncached"]
    result = bench.main([*tiny, *options, "--data-dir", str(tmp_path)])
    names = ["plain (PIL open + crop + PIL bicubic)", "sr_lightning cache=none", "sr_lightning cache=disk, epoch 1"]
    assert set(names) < set(result["rows"]) and all(f"| {name} |" in result["table"] for name in names)
    assert all(math.isfinite(rate) and rate > 0 for rate in result["rows"].values())
    assert math.isfinite(result["ratio"]) and result["ratio"] > 0
    assert result["cache_bytes"] == 2 * 3 * 64 * 40  # every generated image, decoded once
    rates = ("step_patches_per_s", "fed_step_patches_per_s", "plain_fed_step_patches_per_s", "degrade_patches_per_s")
    assert all(math.isfinite(result[name]) and result[name] > 0 for name in rates)
    assert isinstance(result["keeps_up"], bool)
    # one table row per loader, each with a finite positive "vs plain" ratio; the plain loader is 1.0x itself
    table_rows = [line.split("|")[1:-1] for line in result["table"].splitlines()[2:]]
    assert [cells[0].strip() for cells in table_rows] == list(result["rows"])
    vs_plain = {cells[0].strip(): float(cells[2].strip().rstrip("x")) for cells in table_rows}
    assert all(math.isfinite(v) and v > 0 for v in vs_plain.values()) and vs_plain[names[0]] == 1.0
    out = capsys.readouterr().out
    assert "(target >= 5x)" in out and "EDSR-baseline x4 training step on cpu (batch 2" in out
    item = bench.PlainPatches(sorted(tmp_path.glob("*.png")), patch=24, scale=4, length=4)[3]
    assert item["hr"].shape == (3, 24, 24) and item["lr"].shape == (3, 6, 6)


# ------------------------------------------------------------------------------------------------- train_step
def test_train_step_plain_loop_trains_exactly_what_the_lightning_module_trains() -> None:
    # The comparison is fair only if both sides do the same work: from the same weights, three steps of the plain
    # loop and three batches of Trainer.fit (one warm-up + two timed) end at the same weights.
    import copy

    import torch

    bench = _load("train_step")
    torch.manual_seed(0)
    reference = EDSR(scale=2, n_resblocks=1, n_feats=8)
    batch = {"lr": torch.rand(2, 3, 8, 8), "hr": torch.rand(2, 3, 16, 16)}
    for options in ({}, {"channels_last": True}):
        plain_net = copy.deepcopy(reference)
        step_times = bench.plain_loop(plain_net, options, "eager", "32", torch.device("cpu"))(batch, 3)
        module = bench.SRModule(copy.deepcopy(reference), **options)
        loop, in_step, setup = bench.lightning_fit(module, batch, 1, 2, "32", torch.device("cpu"))
        assert len(step_times) == 3 and len(loop) == len(in_step) == 2 and setup >= 0
        for (name, a), b in zip(plain_net.state_dict().items(), module.generator.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=name)


def test_train_step_prints_a_ratio_row_per_variant(capsys) -> None:
    bench = _load("train_step")
    args = ["--blocks", "1", "--feats", "8", "--patch", "16", "--batch", "2", "--steps", "2", "--warmup", "1"]
    rows = bench.main([*args, "--rounds", "1", "--compile-backend", "eager"])
    printed = capsys.readouterr().out
    assert [row["variant"] for row in rows] == list(bench.VARIANTS)
    printed_rows = [line for line in printed.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [line.split("|")[1].strip() for line in printed_rows] == list(bench.VARIANTS)  # one row per variant
    for row, line in zip(rows, printed_rows, strict=True):
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        assert cells[6] in {"yes", "no"} and isinstance(row["meets_target"], bool)
        for ratio in (float(cells[4]), float(cells[7]), float(cells[8].rstrip("x")), row["ratio"], row["best_ratio"]):
            assert math.isfinite(ratio) and ratio > 0, (row["variant"], cells)
        assert all(math.isfinite(row[key]) for key in ("plain_ms", "lightning_ms", "in_step_ms", "setup_ms"))


def test_train_step_rejects_a_patch_that_the_scale_does_not_divide(capsys) -> None:
    with pytest.raises(SystemExit):
        _load("train_step").parse_args(["--patch", "50", "--scale", "4"])
    assert "--patch 50 is not a multiple of --scale 4" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------- inference
def test_inference_tiles_match_untiled_when_the_overlap_covers_the_receptive_field(monkeypatch, capsys) -> None:
    # A 1-block, 8-feature EDSR sees about 6 LR pixels around each output pixel: an overlap of 16 (8 blended
    # pixels kept on each side) reproduces the untiled output up to float rounding. The passes run in this process,
    # where the untiled pass may reuse memory the process already holds: its peak can then be 0 MiB.
    bench = _load("inference")
    monkeypatch.setattr(bench, "_spawn", bench.run_variant)
    rows = bench.main(["--size", "40x24", "--tiles", "16", "--blocks", "1", "--feats", "8", "--repeats", "2"])
    untiled, tiled = rows
    assert untiled["variant"] == "untiled" and tiled["shape"] == [1, 3, 96, 160]
    # Each output pixel sums 8 x 9 x 3 products in float32 (|x| <= 1, weights ~0.1) whichever the tiling: a
    # different reduction order moves it by a few ulps of ~1, far below 1e-5.
    assert untiled["max_abs_diff"] == 0.0 and tiled["max_abs_diff"] < 1e-5
    assert f"| tile 16 | {tiled['seconds']:.2f} |" in capsys.readouterr().out


def test_inference_ratios_do_not_divide_by_a_zero_peak(monkeypatch, capsys) -> None:
    bench = _load("inference")
    peaks = iter([0.0, 5.0])  # the untiled pass reused memory (0 MiB above its start), the tiled one did not

    def fake(spec: dict) -> dict:
        return {**bench.run_variant(spec), "peak_mib": next(peaks)}

    monkeypatch.setattr(bench, "_spawn", fake)
    untiled, tiled = bench.main(["--size", "40x24", "--tiles", "16", "--blocks", "1", "--feats", "8", "--repeats", "1"])
    assert untiled["memory_ratio"] is None and tiled["memory_ratio"] is None
    assert tiled["time_ratio"] is not None and tiled["time_ratio"] > 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| tile 16 |"))
    assert row.split("|")[5].strip() == "-"  # the memory-ratio cell


def test_inference_worker_runs_in_its_own_process_and_reports_its_peak() -> None:
    bench = _load("inference")
    spec = {"name": "tile 16", "tile": 16, "overlap": 4, "width": 40, "height": 24, "blocks": 1, "feats": 8}
    result = bench._spawn({**spec, "weights": None, "device": "cpu", "output": None})
    assert result["shape"] == [1, 3, 96, 160] and result["seconds"] > 0 and result["peak_mib"] >= 0
    assert result["gpu_peak_mib"] is None


# -------------------------------------------------------------------------------------------------- gpu check
def test_gpu_check_fails_without_a_gpu_instead_of_passing_empty(monkeypatch, capsys) -> None:
    gpu_check = _load("gpu_check")
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 1
    assert "no CUDA device" in capsys.readouterr().err


def test_validation_benchmark_compares_equal_values_of_both_variants(tmp_path, write_images, capsys) -> None:
    val = write_images(tmp_path / "val", count=2, size=(40, 48))
    result = _load("validation").main(["--rounds", "1", "--blocks", "1", "--feats", "4", "--val-dir", str(val)])
    # The two SSIM blurs differ by ~1e-15 in float64 and the kept bicubic scores are the same float64 numbers: the
    # logged float32 values agree to their last bit, or to one float32 ulp of a value below 50 (4e-6).
    assert result["difference"] <= 4e-6
    out = capsys.readouterr().out
    assert "| before (2-D SSIM, bicubic every time) |" in out and "| after, later validations |" in out
