"""Exact resumption: a run killed mid-training and resumed with ``--ckpt_path last`` ends with the same weights as
a run that was never interrupted (CPU, deterministic), for SRModule and SRGANModule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sr_lightning.cli import main

TESTS = Path(__file__).resolve().parent
EPOCHS, BATCHES = 4, 2

SR_MODEL = {
    "class_path": "sr_lightning.lit.SRModule",
    "init_args": {
        "generator": {"class_path": "sr_lightning.models.EDSR", "init_args": {"n_resblocks": 1, "n_feats": 8}},
        "ema_decay": 0.9,
    },
}
GAN_MODEL = {
    "class_path": "sr_lightning.lit.SRGANModule",
    "init_args": {
        "generator": {
            "class_path": "sr_lightning.models.SRResNet",
            "init_args": {"scale": 2, "n_resblocks": 1, "n_feats": 8},
        },
        "discriminator": {
            "class_path": "sr_lightning.models.SRGANDiscriminator",
            "init_args": {"n_feats": 4, "pool_size": 1},
        },
        "adversarial_weight": 0.01,
        "ema_decay": 0.9,
        "optimizer_g": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
        "optimizer_d": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
        "scheduler_g": {"class_path": "torch.optim.lr_scheduler.StepLR", "init_args": {"step_size": 1, "gamma": 0.5}},
        "scheduler_d": {"class_path": "torch.optim.lr_scheduler.StepLR", "init_args": {"step_size": 1, "gamma": 0.5}},
    },
}


# fp16 autocast with a real GradScaler runs on the CPU when the plugin is given explicitly (Lightning would turn a
# plain `precision: 16-mixed` into bf16 there): the T4 setting, loss scaler included, without a GPU.
FP16_SCALER = {
    "class_path": "lightning.pytorch.plugins.precision.MixedPrecision",
    "init_args": {
        "precision": "16-mixed",
        "device": "cpu",
        "scaler": {"class_path": "torch.amp.GradScaler", "init_args": {"device": "cpu", "init_scale": 1024.0}},
    },
}


def _config(tmp_path: Path, model: dict, train: Path, val: Path, fp16: bool = False) -> Path:
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "max_epochs": EPOCHS,
            "limit_train_batches": BATCHES,
            "limit_val_batches": 1,
            "enable_progress_bar": False,
            "logger": {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": "runs", "name": "r"},
            },
        },
        "model": model,
        "data": {"scale": 2, "train_dir": str(train), "val_dir": str(val), "patch_size": 24, "batch_size": 2},
        "image_panel": {"num_images": 1, "crop_size": 16},
    }
    if fp16:
        config["trainer"]["plugins"] = [FP16_SCALER]
    if model["class_path"].endswith("SRModule"):
        config["optimizer"] = {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}}
        config["lr_scheduler"] = {
            "class_path": "torch.optim.lr_scheduler.StepLR",
            "init_args": {"step_size": 1, "gamma": 0.5},
        }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _final_state(run_root: Path) -> dict[str, torch.Tensor]:
    last = sorted(run_root.glob("r/version_*/checkpoints/last.ckpt"))[-1]
    return torch.load(last, map_location="cpu", weights_only=True)


@pytest.mark.parametrize(
    ("model", "fp16"),
    [(SR_MODEL, False), (GAN_MODEL, False), (GAN_MODEL, True)],
    ids=["SRModule", "SRGANModule", "SRGANModule-16-mixed-scaler"],
)
def test_killed_and_resumed_run_equals_an_uninterrupted_one(model: dict, fp16: bool, tmp_path, write_images) -> None:
    train = write_images(tmp_path / "train", count=4, size=(48, 48))
    val = write_images(tmp_path / "val", count=1, size=(32, 32))
    config = _config(tmp_path, model, train, val, fp16=fp16)
    fit = ["fit", "--config", str(config)]

    main([*fit, f"--trainer.logger.init_args.save_dir={tmp_path / 'straight'}"])
    straight = _final_state(tmp_path / "straight")

    crashed = tmp_path / "crashed"
    killed = subprocess.run(
        [
            sys.executable,
            str(TESTS / "_crash_run.py"),
            "2",
            "0",
            *fit,
            f"--trainer.logger.init_args.save_dir={crashed}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == 17, killed.stderr[-2000:]  # died in epoch 2, after epoch 1's checkpoint
    interrupted = _final_state(crashed)
    assert interrupted["epoch"] == 1
    main([*fit, f"--trainer.logger.init_args.save_dir={crashed}", "--ckpt_path=last"])
    resumed = _final_state(crashed)

    assert resumed["global_step"] == straight["global_step"] and resumed["epoch"] == straight["epoch"] == EPOCHS - 1
    assert straight["state_dict"].keys() == resumed["state_dict"].keys()
    for key, value in straight["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
    for a, b in zip(straight["optimizer_states"], resumed["optimizer_states"], strict=True):
        assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"]
    assert straight["lr_schedulers"] == resumed["lr_schedulers"]
    if fp16:  # the loss scaler's state continues too (scale and growth tracker)
        assert interrupted["MixedPrecision"]["_growth_tracker"] == 2 * BATCHES * 2  # two epochs, two optimizers
        assert resumed["MixedPrecision"] == straight["MixedPrecision"]
