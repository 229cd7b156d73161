"""The kill loop, longer: a training killed many times (SIGKILL at random instants and in the middle of checkpoint
writes, ``$TMPDIR`` alternating between another filesystem and the run's own) must resume every time and end with
the weights of an uninterrupted run. ``tests/test_kill_loop.py`` runs five kills of the same loop in the suite::

    python benchmarks/kill_loop.py                  # 20 kills, a tiny EDSR, 6 epochs of 4 batches (~3 min)
    python benchmarks/kill_loop.py --kills 50 --seed 3

It prints one row per attempt (how it died, what it resumed from, whether every ``last.ckpt`` on disk was readable
afterwards). When a run reaches its end before a kill comes, it is compared with the uninterrupted run and the next
kills go to a fresh run; at the end, the largest weight difference of all runs from the uninterrupted one is
printed. It exits with status 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from sr_lightning.cli import main as cli
from sr_lightning.inference import read_checkpoint

REPO = Path(__file__).resolve().parents[1]
CHILD = REPO / "tests" / "_crash_run.py"


def _images(folder: Path, count: int, size: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def _config(root: Path, epochs: int, batches: int) -> Path:
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "max_epochs": epochs,
            "limit_train_batches": batches,
            "limit_val_batches": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "runs"}},
        },
        "model": {
            "class_path": "sr_lightning.lit.SRModule",
            "init_args": {
                "generator": {"class_path": "sr_lightning.models.EDSR", "init_args": {"n_resblocks": 2, "n_feats": 8}},
                "ema_decay": 0.9,
            },
        },
        "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}},
        "data": {
            "scale": 2,
            "train_dir": str(_images(root / "train", 2 * batches, 48, 0)),
            "val_dir": str(_images(root / "val", 1, 32, 1)),
            "patch_size": 24,
            "batch_size": 2,
        },
        "image_panel": {"num_images": 1, "crop_size": 16},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _other_filesystem(root: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != root.stat().st_dev:
        return Path(tempfile.mkdtemp(dir=shm, prefix="sr_lightning_kill_loop_"))
    return root / "tmp_other"  # no second filesystem here: both variants use the same one


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _finish_and_compare(folder: Path, fit: list[str], straight: dict) -> tuple[bool, float]:
    """Resume ``folder``'s run to its end; whether it ended at the uninterrupted run's step, and the largest weight
    difference from it."""
    cli([*fit, f"--trainer.logger.init_args.save_dir={folder}", "--ckpt_path=last"])
    resumed = _weights(max(folder.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime))
    same_steps = (straight["epoch"], straight["global_step"]) == (resumed["epoch"], resumed["global_step"])
    largest = max((straight["state_dict"][k] - v).abs().max().item() for k, v in resumed["state_dict"].items())
    return same_steps, largest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-step", type=int, default=6, help="timed kills land inside this process's steps 2..N")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="sr_lightning_kill_loop_"))
    other = _other_filesystem(root)
    same = root / "tmp_same"
    for folder in (other, same):
        folder.mkdir(exist_ok=True)
    config = _config(root, args.epochs, args.batches)
    cli(["fit", f"--config={config}", f"--trainer.logger.init_args.save_dir={root / 'straight'}"])
    straight = _weights(next((root / "straight").rglob("last.ckpt")))
    rng = random.Random(args.seed)
    fit = ["fit", f"--config={config}"]
    failures, cycle, kills, tries = 0, 0, 0, 0
    results: list[tuple[bool, float]] = []
    print("| kill | run | how | $TMPDIR | exit | resumed from | every last.ckpt readable |")
    print("|---|---|---|---|---|---|---|")
    while kills < args.kills and tries < 3 * args.kills:
        tries += 1
        killed = root / f"killed_{cycle}"
        mid_save = tries % 2 == 1
        tmpdir = other if tries % 4 in (1, 2) else same
        env = {**os.environ, "TMPDIR": str(tmpdir)}
        if mid_save:
            env["SR_TEST_KILL_MID_SAVE"] = str(rng.randint(1, 6))
            how = f"mid-save #{env['SR_TEST_KILL_MID_SAVE']}"
        else:
            # A random instant inside a random step of this process, timed by the run's own step duration
            # (checkpoint writes included), so the kill hits on a fast machine as on a slow one.
            env["SR_TEST_KILL_IN_STEP"] = f"{rng.randint(2, args.max_step)}:{rng.uniform(0, 1.5):.2f}"
            step, fraction = env["SR_TEST_KILL_IN_STEP"].split(":")
            how = f"in step {step}, at {fraction} x a step"
        resume = ["--ckpt_path=last"] if list(killed.rglob("last.ckpt")) else []
        command = [sys.executable, str(CHILD), "-1", "-1", *fit, f"--trainer.logger.init_args.save_dir={killed}"]
        done = subprocess.run([*command, *resume], env=env, capture_output=True, text=True)
        started = next((line.split()[-1] for line in done.stdout.splitlines() if line.startswith("Resuming")), "-")
        readable = True
        for path in killed.rglob("last.ckpt"):
            try:
                read_checkpoint(path)
            except (OSError, ValueError):
                readable = False
        ok = done.returncode in (0, -9) and readable
        failures += not ok
        kills += done.returncode == -9
        where = "other fs" if tmpdir == other and other.parent != root else "same fs"
        short = started if started == "-" else str(Path(started).relative_to(killed))
        row = f"| {kills if done.returncode == -9 else '-'} | {cycle} | {how} | {where} | {done.returncode} | {short} |"
        print(f"{row} {'yes' if readable else 'NO'} |", flush=True)
        if done.returncode not in (0, -9):
            print(done.stderr[-2000:], file=sys.stderr)
        if done.returncode == 0:  # the run reached its end before the kill came: check it, start the next run
            results.append(_finish_and_compare(killed, fit, straight))
            cycle += 1
    if list((root / f"killed_{cycle}").rglob("last.ckpt")):
        results.append(_finish_and_compare(root / f"killed_{cycle}", fit, straight))
    leftovers = [p for p in [*root.rglob("*.tmp"), *other.iterdir(), *same.iterdir()] if "ckpt" in p.name]
    all_steps = all(same_steps for same_steps, _ in results)
    largest = max((difference for _, difference in results), default=float("nan"))
    print(
        f"\nKills: {kills} over {len(results)} killed runs, each resumed to its end: every run ended at the "
        f"uninterrupted run's epoch and step: {'yes' if all_steps else 'NO'}; largest weight difference {largest:.1e}; "
        f"temporary files left: {len(leftovers)}; kills that broke a resume or left an unreadable last.ckpt: "
        f"{failures}."
    )
    shutil.rmtree(root, ignore_errors=True)
    if other.parent != root:
        shutil.rmtree(other, ignore_errors=True)
    return int(failures > 0 or not all_steps or not largest <= 1e-6 or bool(leftovers) or kills < args.kills)


if __name__ == "__main__":
    sys.exit(main())
