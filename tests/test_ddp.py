"""Two processes under Lightning's DDP (CPU, gloo): every callback runs, metrics are synchronised, pictures are drawn
once by rank zero, and nothing waits forever on a collective that only one rank calls."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from sr_lightning.data import PairedImageDataset
from sr_lightning.inference import load_generator
from sr_lightning.metrics import functional

FEATURES = '''
import torch
from torch import nn


class TinyFeatures(nn.Module):
    """A stand-in for Inception: fixed random conv features, average-pooled to 8 numbers."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).relu().mean(dim=(2, 3))
'''


def _images(folder: Path, count: int, size: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        img = (
            128
            + 90 * np.sin(xx[..., None] / (2 + i) + yy[..., None] / 3 + np.arange(3))
            + rng.normal(0, 12, (size, size, 3))
        )
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


@pytest.mark.slow
def test_two_process_ddp_fit_with_every_callback(tmp_path: Path) -> None:
    (tmp_path / "tiny_features.py").write_text(textwrap.dedent(FEATURES))
    train, val = _images(tmp_path / "train", 4, 32, 0), _images(tmp_path / "val", 4, 36, 1)
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "devices": 2,
            "strategy": "ddp",
            "max_epochs": 2,
            "limit_train_batches": 2,
            "log_every_n_steps": 1,
            "enable_progress_bar": False,
            "logger": {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": str(tmp_path / "runs"), "name": "ddp"},
            },
            "callbacks": [
                {
                    "class_path": "sr_lightning.callbacks.FIDKIDMetrics",
                    "init_args": {
                        "feature_extractor": {"class_path": "tiny_features.TinyFeatures"},
                        "patch_size": 12,
                        "kid_subsets": 5,
                    },
                },
                {"class_path": "sr_lightning.callbacks.BestWorstImages", "init_args": {"k": 2, "crop_size": 16}},
                {"class_path": "sr_lightning.callbacks.GradCAMImages", "init_args": {"num_images": 1}},
            ],
        },
        "model": {
            "class_path": "sr_lightning.lit.SRModule",
            "init_args": {
                "generator": {
                    "class_path": "sr_lightning.models.EDSR",
                    "init_args": {"scale": 2, "n_resblocks": 1, "n_feats": 8},
                },
                "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
            },
        },
        "data": {
            "scale": 2,
            "train_dir": str(train),
            "val_dir": str(val),
            "patch_size": 16,
            "batch_size": 2,
            "repeat": 2,
        },
        "image_panel": {"num_images": 2, "crop_size": 16},
    }
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "sr_lightning.cli", "fit", "--config", str(config_path)]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    run = tmp_path / "runs" / "ddp" / "version_0"
    images = sorted(p.name for p in (run / "images").iterdir())
    assert images == [
        "best_ssim_epoch000.png", "best_ssim_epoch001.png", "grad_cam_epoch000.png", "grad_cam_epoch001.png",
        "val_epoch000.png", "val_epoch001.png", "worst_ssim_epoch000.png", "worst_ssim_epoch001.png",
    ]  # fmt: skip
    rows = [row for row in csv.DictReader((run / "metrics.csv").open()) if row.get("val/psnr_y")]
    assert len(rows) == 2
    for key in ("val/psnr_y", "val/ssim_y", "val/fid_patch12", "val/kid_patch12", "val/bicubic_psnr_y"):
        assert rows[-1][key] != ""

    # Each rank validated 2 of the 4 images; the logged PSNR-Y is the mean over all 4 (torchmetrics synchronised),
    # as scored here from the last checkpoint (the weights after the last epoch, which validated them).
    generator = load_generator(run / "checkpoints" / "last.ckpt")
    dataset = PairedImageDataset(val, scale=2)
    with torch.no_grad():
        scores = [
            functional.psnr_y(generator(item["lr"][None]), item["hr"][None], border=2).item()
            for item in (dataset[i] for i in range(4))
        ]
    # The ranks may run with another thread count than this process: an output an ulp apart can round to the next
    # 8-bit level, which moves this 4-image mean by up to 4e-5 dB per pixel that flips; 5e-4 covers ten flips.
    assert float(rows[-1]["val/psnr_y"]) == pytest.approx(sum(scores) / 4, abs=5e-4)
    for share in (scores[0::2], scores[1::2]):  # DistributedSampler's shares: not one rank's mean
        assert float(rows[-1]["val/psnr_y"]) != pytest.approx(sum(share) / 2, abs=1e-3)
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_killed_two_process_run_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    # Under DDP Lightning wraps a custom sampler, and before 2.6 its wrapper did not pass the epoch on: the resumed run
    # drew epoch 0's patches again (`make test-min` runs Lightning 2.5). The sampler now shards itself, is a
    # DistributedSampler, and gets the epoch from Lightning directly, with any version.
    train, val = _images(tmp_path / "train", 4, 32, 0), _images(tmp_path / "val", 2, 32, 1)
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu", "devices": 2, "strategy": "ddp", "max_epochs": 4, "limit_train_batches": 2,
            "limit_val_batches": 1, "enable_progress_bar": False, "enable_model_summary": False,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "runs"}},
        },
        "model": {
            "class_path": "sr_lightning.lit.SRModule",
            "init_args": {
                "generator": {"class_path": "sr_lightning.models.EDSR", "init_args": {"n_resblocks": 1, "n_feats": 8}},
                "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
                "ema_decay": 0.9,
            },
        },
        "data": {"scale": 2, "train_dir": str(train), "val_dir": str(val), "patch_size": 16, "batch_size": 2,
                 "repeat": 2},
        "image_panel": {"num_images": 1, "crop_size": 16},
    }  # fmt: skip
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    crash = Path(__file__).resolve().parent / "_crash_run.py"

    def fit(root: str, *extra: str, crash_at: tuple[int, int] = (-1, -1)) -> subprocess.CompletedProcess:
        args = ["fit", "--config", str(config_path), f"--trainer.logger.init_args.save_dir={tmp_path / root}", *extra]
        command = [sys.executable, str(crash), *map(str, crash_at), *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert fit("straight").returncode == 0
    killed = fit("crashed", crash_at=(2, 0))
    assert killed.returncode == 17, killed.stdout[-2000:] + killed.stderr[-2000:]  # in epoch 2, after epoch 1's save
    resumed = fit("crashed", "--ckpt_path=last")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]

    def final(root: str) -> dict:
        last = max((tmp_path / root).rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
        return torch.load(last, map_location="cpu", weights_only=True)

    a, b = final("straight"), final("crashed")
    assert (a["epoch"], a["global_step"]) == (b["epoch"], b["global_step"]) == (3, 8)
    for key, value in a["state_dict"].items():
        # Both ranks' gradients are all-reduced in the same order in both runs: the same float operations.
        torch.testing.assert_close(b["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
