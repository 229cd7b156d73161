"""`sr-lightning benchmark`: the bicubic row reproduces the published Set5 figures; model rows are the protocol's
scores of the checkpoint's EMA generator; table and CSV carry every column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning.cli import run
from sr_lightning.data import PairedImageDataset
from sr_lightning.evaluation import benchmark_sets, evaluate, run_benchmark
from sr_lightning.hub import MissingWeightsError
from sr_lightning.inference import load_generator, self_ensemble
from sr_lightning.metrics import LPIPS, functional

# Published bicubic Set5 (PSNR-Y, SSIM-Y), see ../shared/benchmarks/README.md.
PUBLISHED_BICUBIC = {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)}


@pytest.mark.parametrize("scale", [2, 4])  # x3 too in tests/metrics/test_functional.py
def test_bicubic_row_reproduces_published_set5(set5_root: Path, scale: int) -> None:
    (row,) = run_benchmark([], set5_root.parent, sets=["Set5"], scale=scale, lpips=None)
    assert (row.set, row.model, row.images) == ("Set5", "Bicubic", 5)
    psnr, ssim = PUBLISHED_BICUBIC[scale]
    assert abs(row.psnr_y - psnr) <= 0.03
    assert abs(row.ssim_y - ssim) <= 0.001


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    """A benchmark root holding one set, ``tiny``, of three HR images (LR made by MATLAB bicubic)."""
    rng = np.random.default_rng(3)
    hr = tmp_path / "bench" / "tiny" / "HR"
    hr.mkdir(parents=True)
    yy, xx = np.mgrid[0:46, 0:58]
    for i in range(3):
        img = (
            120
            + 80 * np.sin(xx[..., None] / (2 + i) + yy[..., None] / 5 + np.arange(3))
            + rng.normal(0, 10, (46, 58, 3))
        )
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(hr / f"im{i}.png")
    return tmp_path / "bench"


def _direct_scores(generator, root: Path, scale: int, ensemble: bool = False) -> dict[str, float]:
    dataset = PairedImageDataset(root / "tiny" / "HR", scale=scale)
    scores: dict[str, list[float]] = {"psnr_y": [], "ssim": []}
    with torch.no_grad():
        for item in (dataset[i] for i in range(len(dataset))):
            lr, hr = item["lr"][None], item["hr"][None]
            sr = (self_ensemble(generator, lr) if ensemble else generator(lr)).clamp(0, 1)
            scores["psnr_y"].append(functional.psnr_y(sr, hr, border=scale).item())
            scores["ssim"].append(functional.ssim(sr, hr, border=scale).item())
    return {name: sum(values) / len(values) for name, values in scores.items()}


def test_command_scores_the_ema_generator_and_writes_table_and_csv(
    tiny_checkpoint: Path, tiny_set: Path, tmp_path: Path, capsys
) -> None:
    out_csv = tmp_path / "out" / "table.csv"
    args = ["benchmark", "--ckpt", str(tiny_checkpoint), "--data", str(tiny_set), "--sets", "tiny", "--scale", "2"]
    run([*args, "--lpips", "none", "--tile", "12", "--overlap", "16", "--csv", str(out_csv)])
    printed = capsys.readouterr().out
    assert "| Set | Model | xS | Images | PSNR-Y | SSIM-Y | PSNR (RGB) | SSIM (RGB) | LPIPS | Params (M) |" in printed
    rows = list(csv.DictReader(out_csv.open()))
    assert [(r["set"], r["model"], r["images"]) for r in rows] == [("tiny", "Bicubic", "3"), ("tiny", "last", "3")]

    # The model row is the protocol's score of the EMA generator, untiled (the tiles are exact for this model).
    expected = _direct_scores(load_generator(tiny_checkpoint), tiny_set, 2)
    assert float(rows[1]["psnr_y"]) == pytest.approx(expected["psnr_y"], abs=1e-4)
    assert float(rows[1]["ssim"]) == pytest.approx(expected["ssim"], abs=2e-5)
    raw = _direct_scores(load_generator(tiny_checkpoint, use_ema=False), tiny_set, 2)
    assert abs(raw["psnr_y"] - expected["psnr_y"]) > 1e-3  # the EMA row is not the raw weights' row
    params = sum(p.numel() for p in load_generator(tiny_checkpoint).parameters()) / 1e6
    assert float(rows[1]["params_m"]) == pytest.approx(params)
    assert rows[1]["lpips"] == "" and rows[0]["params_m"] == ""
    assert f"| tiny | last | x2 | 3 | {float(rows[1]['psnr_y']):.2f} |" in printed


def test_self_ensemble_rows_average_the_eight_transforms(tiny_checkpoint: Path, tiny_set: Path) -> None:
    (row,) = run_benchmark(
        [tiny_checkpoint], tiny_set, sets=["tiny"], scale=2, lpips=None, bicubic=False, self_ensemble=True, tile=None
    )
    expected = _direct_scores(load_generator(tiny_checkpoint), tiny_set, 2, ensemble=True)
    assert row.psnr_y == pytest.approx(expected["psnr_y"], abs=1e-4)


def test_missing_sets_and_wrong_scales_are_clear_errors(tiny_checkpoint: Path, tiny_set: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Set14"):
        benchmark_sets(tiny_set, ["tiny", "Set14"])
    with pytest.raises(FileNotFoundError, match=r"holds none of Set5, Set14, BSD100, Urban100"):
        benchmark_sets(tmp_path)
    assert benchmark_sets(tiny_set / "tiny") == {"tiny": tiny_set / "tiny"}  # one set's own folder
    with pytest.raises(ValueError, match=r"cannot upscale x4"):
        run_benchmark([tiny_checkpoint], tiny_set, sets=["tiny"], scale=4, lpips=None)
    with pytest.raises(ValueError, match=r"2 names for 1 checkpoints"):
        run_benchmark([tiny_checkpoint], tiny_set, sets=["tiny"], scale=2, names=["a", "b"], lpips=None)


def test_lpips_column_is_the_per_image_mean(tiny_checkpoint: Path, tiny_set: Path) -> None:
    torch.manual_seed(0)
    metric = LPIPS(net="squeeze", pretrained=False)  # a random backbone: tests only that the column is LPIPS
    generator = load_generator(tiny_checkpoint)
    dataset = PairedImageDataset(tiny_set / "tiny", scale=2)
    row = evaluate(generator, dataset, set_name="tiny", model_name="m", lpips=metric)
    reference = LPIPS(net="squeeze", pretrained=False)
    reference.load_state_dict(metric.state_dict())
    with torch.no_grad():
        for item in (dataset[i] for i in range(len(dataset))):
            sr = functional.quantize(generator(item["lr"][None]).clamp(0, 1)).float() / 255
            reference.update(sr, item["hr"][None])
    assert row.lpips == pytest.approx(reference.compute().item(), rel=1e-6)
    assert row.lpips > 0


def test_missing_lpips_weights_offline_name_the_file(
    tiny_checkpoint: Path, tiny_set: Path, tmp_path: Path, torch_home: Path, offline
) -> None:
    args = ["benchmark", "--ckpt", str(tiny_checkpoint), "--data", str(tiny_set), "--sets", "tiny", "--scale", "2"]
    with pytest.raises(MissingWeightsError, match=rf"alexnet-owt-7be5be79\.pth.*{torch_home}/hub/checkpoints"):
        run_benchmark([tiny_checkpoint], tiny_set, sets=["tiny"], scale=2)  # lpips="alex" is the default
    # The command says the same in one line, without a traceback.
    with pytest.raises(SystemExit, match=r"^sr-lightning benchmark: error: .*alexnet-owt-7be5be79\.pth"):
        run([*args, "--csv", str(tmp_path / "t.csv")])


def test_command_errors_are_one_line(tiny_checkpoint: Path, tiny_set: Path, tmp_path: Path) -> None:
    args = ["benchmark", "--data", str(tiny_set), "--sets", "tiny", "--scale", "2", "--lpips", "none"]
    with pytest.raises(SystemExit, match=r"^sr-lightning benchmark: error: checkpoint .*missing\.ckpt does not exist"):
        run([*args, "--ckpt", str(tmp_path / "missing.ckpt")])
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match=r"^sr-lightning benchmark: error: .*junk\.ckpt is not a readable checkpoint"):
        run([*args, "--ckpt", str(junk)])
    with pytest.raises(SystemExit, match=r"^sr-lightning benchmark: error: .*cannot upscale x4"):
        run([*args[:-4], "--scale", "4", "--lpips", "none", "--ckpt", str(tiny_checkpoint)])
