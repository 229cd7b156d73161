"""A training killed again and again (SIGKILL at random instants and in the middle of writing a checkpoint, with
``$TMPDIR`` on another filesystem and on the same one) resumes every time with ``--ckpt_path last`` and ends with the
weights of a run that was never interrupted. ``benchmarks/kill_loop.py`` runs the same loop longer."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sr_lightning.cli import main
from sr_lightning.inference import read_checkpoint

TESTS = Path(__file__).resolve().parent
EPOCHS, BATCHES = 8, 2  # 16 steps: room for five kills, each of which costs a run at most ~2 epochs


def _config(tmp_path: Path, write_images) -> Path:
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "max_epochs": EPOCHS,
            "limit_train_batches": BATCHES,
            "limit_val_batches": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "runs"}},
        },
        "model": {
            "class_path": "sr_lightning.lit.SRModule",
            "init_args": {
                "generator": {"class_path": "sr_lightning.models.EDSR", "init_args": {"n_resblocks": 1, "n_feats": 8}},
                "ema_decay": 0.9,
            },
        },
        "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
        "data": {
            "scale": 2,
            "train_dir": str(write_images(tmp_path / "train", count=4, size=(48, 48))),
            "val_dir": str(write_images(tmp_path / "val", count=1, size=(32, 32))),
            "patch_size": 24,
            "batch_size": 2,
        },
        "image_panel": {"num_images": 1, "crop_size": 16},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def other_filesystem_tmpdir(tmp_path: Path) -> Path | None:
    """A folder on another filesystem than ``tmp_path`` (``/dev/shm``, a tmpfs), or None where there is none."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev:
        folder = shm / f"sr_lightning_kill_loop_{os.getpid()}"
        folder.mkdir(exist_ok=True)
        return folder
    return None


def run_killed(args: list[str], env: dict[str, str]) -> int:
    """Run ``sr-lightning <args>`` in a child process that kills itself as ``env`` says; its exit status."""
    command = [sys.executable, str(TESTS / "_crash_run.py"), "-1", "-1", *args]
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, -9), done.stderr[-3000:]  # killed, or finished before the kill came
    return done.returncode


def test_a_run_killed_anywhere_resumes_to_the_uninterrupted_weights(tmp_path: Path, write_images) -> None:
    config = _config(tmp_path, write_images)
    main(["fit", f"--config={config}", f"--trainer.logger.init_args.save_dir={tmp_path / 'straight'}"])
    (straight,) = (tmp_path / "straight").rglob("last.ckpt")

    root = tmp_path / "killed"
    same_fs = tmp_path / "tmpdir"
    same_fs.mkdir()
    other_fs = other_filesystem_tmpdir(tmp_path) or same_fs
    rng = random.Random(0)
    kills = [
        {"SR_TEST_KILL_MID_SAVE": "1", "TMPDIR": str(other_fs)},  # the first checkpoint, half written
        {"SR_TEST_KILL_IN_STEP": f"{rng.randint(2, 3)}:{rng.uniform(0, 1.5):.2f}", "TMPDIR": str(same_fs)},
        {"SR_TEST_KILL_MID_SAVE": "2", "TMPDIR": str(same_fs)},
        {"SR_TEST_KILL_IN_STEP": f"{rng.randint(2, 3)}:{rng.uniform(0, 1.5):.2f}", "TMPDIR": str(other_fs)},
        {"SR_TEST_KILL_MID_SAVE": "3", "TMPDIR": str(other_fs)},
    ]
    fit = ["fit", f"--config={config}", f"--trainer.logger.init_args.save_dir={root}"]
    statuses = []
    for env in kills:
        resume = ["--ckpt_path=last"] if list(root.rglob("last.ckpt")) else []
        statuses.append(run_killed([*fit, *resume], env))
        for path in root.rglob("last.ckpt"):
            read_checkpoint(path)  # every last.ckpt on disk, at any time, is complete
    # Every kill hits: the mid-save ones count this process's checkpoint files, the in-step ones are timed by the
    # run's own step duration, and 16 steps leave work for all five (no wall-clock guess that a fast CPU outruns).
    assert statuses == [-9] * len(kills), statuses

    main([*fit, "--ckpt_path=last"])
    resumed = max(root.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    a = torch.load(straight, map_location="cpu", weights_only=True)
    b = torch.load(resumed, map_location="cpu", weights_only=True)
    assert (b["epoch"], b["global_step"]) == (a["epoch"], a["global_step"]) == (EPOCHS - 1, EPOCHS * BATCHES)
    for key, value in a["state_dict"].items():
        # The same CPU operations in the same order as the straight run (seeded draws, deterministic kernels).
        torch.testing.assert_close(b["state_dict"][key], value, rtol=0, atol=1e-6, msg=key)
    leftovers = [p for p in [*root.rglob("*.tmp"), *same_fs.iterdir(), *other_fs.iterdir()] if "ckpt" in p.name]
    assert not leftovers, leftovers  # killed saves leave nothing behind once the run has resumed


@pytest.fixture(autouse=True)
def _remove_shm_folder(tmp_path: Path):
    yield
    folder = other_filesystem_tmpdir(tmp_path)
    if folder is not None:  # torch may leave folders of its own in $TMPDIR (torch 2.9's torch.distributed.nn does)
        shutil.rmtree(folder, ignore_errors=True)
