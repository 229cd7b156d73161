"""Real short runs for the experiment tests, made once per session with the ``sr-lightning`` CLI:

- ``edsr_w8``: x2 EDSR (1 block, 8 features), 2 epochs of 2 batches, logged to CSV and to W&B with
  ``--wandb.project`` in the default ``auto`` mode without credentials (so offline, and no network touched)
  and ``--wandb.log_model true`` (what the library passes to ``wandb.init`` and which checkpoints it logs as
  artifacts are recorded on the way, through W&B's public API);
- ``edsr_w4_x3``: x3 EDSR with 4 features, same schedule, CSV only.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from sr_lightning.cli import main
from sr_lightning.experiments import CurvePoint

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "configs" / "quickstart.yaml"


@dataclass
class FittedRuns:
    """The folders of the session's runs and what the W&B fit printed."""

    root: Path
    wandb_csv: Path  # the CSV folder of the fit that also logged to W&B
    wandb_run: Path  # its offline W&B run folder
    csv_only: Path
    printed: str
    wandb_init: dict[str, Any]  # the keyword arguments of the W&B fit's wandb.init
    artifacts: set[tuple[str, str]]  # (artifact name, original checkpoint file name) of each logged checkpoint


def _images(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    for i in range(count):
        img = np.stack([np.sin(xx / (3 + i + c)) * np.cos(yy / (4 + c)) for c in range(3)], -1) * 100 + 128
        img = img + rng.uniform(-20, 20, img.shape)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def _fit(root: Path, name: str, *extra: str) -> None:
    main(
        [
            "fit",
            f"--config={QUICKSTART}",
            f"--trainer.logger.init_args.save_dir={root / 'runs'}",
            f"--trainer.logger.init_args.name={name}",
            "--trainer.max_epochs=2",
            "--trainer.limit_train_batches=2",
            "--trainer.log_every_n_steps=1",
            "--trainer.accelerator=cpu",
            "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false",
            "--trainer.num_sanity_val_steps=0",
            "--model.init_args.generator.init_args.n_resblocks=1",
            f"--data.train_dir={root / 'train'}",
            f"--data.val_dir={root / 'val'}",
            "--data.patch_size=24",
            "--data.batch_size=2",
            "--data.repeat=1",
            "--data.cache_images=false",
            *extra,
        ]
    )


def _no_network(*args, **kwargs):
    raise AssertionError("the W&B reachability check ran although there are no credentials")


@pytest.fixture(scope="session")
def fitted_runs(tmp_path_factory: pytest.TempPathFactory) -> FittedRuns:
    import wandb

    root = tmp_path_factory.mktemp("experiments")
    _images(root / "train", 4, seed=0)
    _images(root / "val", 2, seed=1)
    (root / "netrc").write_text("")
    printed = io.StringIO()
    inits: list[dict[str, Any]] = []
    artifacts: set[tuple[str, str]] = set()
    from wandb.sdk.wandb_run import Run  # wandb.Run is an alias from wandb 0.19 on; the floor is 0.16

    real_init, real_log_artifact = wandb.init, Run.log_artifact

    def init(**kwargs: Any) -> Any:
        inits.append(kwargs)
        return real_init(**kwargs)

    def log_artifact(run: Any, artifact: Any, *args: Any, **kwargs: Any) -> Any:
        artifacts.add((artifact.name, artifact.metadata["original_filename"]))
        return real_log_artifact(run, artifact, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wandb, "init", init)
        patch.setattr(Run, "log_artifact", log_artifact)
        for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_BASE_URL", "WANDB_DIR"):
            patch.delenv(name, raising=False)
        patch.setenv("NETRC", str(root / "netrc"))  # no credentials, whatever the machine has
        patch.setenv("WANDB_SILENT", "true")
        for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_ARTIFACT_DIR"):
            patch.setenv(name, str(root / "wandb_home" / name.lower()))
        patch.setattr("sr_lightning.experiments.wandb_mode.host_reachable", _no_network)
        with contextlib.redirect_stdout(printed):
            _fit(
                root,
                "edsr_w8",
                "--model.init_args.generator.init_args.n_feats=8",
                "--wandb.project=test",
                "--wandb.log_model=true",
                "--wandb.tags=[tiny,edsr]",
            )
        _fit(
            root,
            "edsr_w4_x3",
            "--model.init_args.generator.init_args.n_feats=4",
            "--model.init_args.generator.init_args.scale=3",
            "--data.scale=3",
        )
    (wandb_run,) = (root / "runs" / "wandb").glob("offline-run-*")
    return FittedRuns(
        root=root,
        wandb_csv=root / "runs" / "edsr_w8" / "version_0",
        wandb_run=wandb_run,
        csv_only=root / "runs" / "edsr_w4_x3" / "version_0",
        printed=printed.getvalue(),
        wandb_init=inits[0],
        artifacts=artifacts,
    )


def _csv_curve(folder: Path, key: str) -> list[CurvePoint]:
    """``key`` straight from Lightning's metrics.csv."""
    with (folder / "metrics.csv").open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row[key]]
    return [CurvePoint(int(row["step"]), int(row["epoch"]), float(row[key])) for row in rows]


@pytest.fixture
def csv_curve() -> Callable[[Path, str], list[CurvePoint]]:
    """``csv_curve(folder, key)``: the ``(step, epoch, value)`` points of ``key`` read from ``metrics.csv``."""
    return _csv_curve


class FakeRun:
    """What ``wandb.Api().run(path)`` gives: name, config (values wrapped as the API may return them), summary
    and ``scan_history(keys=...)``, which yields only the rows that have every key."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.name = "edsr-gan"
        self.config = {"model.init_args.generator.class_path": {"value": "sr_lightning.models.EDSR"}, "data.scale": 4}
        self.summary = {
            "val/psnr_y": 26.0,
            "val/lpips_alex": 0.21,
            "val/panel": {"_type": "images"},
            "model/params": 1234,
            "_runtime": 600.5,
            "trainer/global_step": 299,
        }
        self.rows = rows
        self.asked: list[list[str]] = []

    def scan_history(self, keys: list[str]):
        self.asked.append(keys)
        return [{k: row[k] for k in keys} for row in self.rows if all(k in row for k in keys)]


class FakeApi:
    """``wandb.Api()`` with one run; records the paths asked for."""

    def __init__(self, run: FakeRun) -> None:
        self.fake, self.paths = run, []

    def run(self, path: str) -> FakeRun:
        self.paths.append(path)
        return self.fake


HISTORY = [
    {"trainer/global_step": 0, "epoch": 0, "train/loss": 0.3},
    {"trainer/global_step": 99, "epoch": 0, "val/psnr_y": 24.0, "val/lpips_alex": 0.30},
    {"trainer/global_step": 199, "epoch": 1, "val/psnr_y": 26.5, "val/lpips_alex": 0.25},
    {"trainer/global_step": 299, "epoch": 2, "val/psnr_y": 26.0, "val/lpips_alex": 0.21},
]


@pytest.fixture
def fake_api() -> Callable[..., FakeApi]:
    """``fake_api(rows=HISTORY, summary=None)``: a W&B public API stand-in serving one run (``summary`` adds to
    the run's summary)."""

    def make(rows: list[dict[str, Any]] | None = None, summary: dict[str, Any] | None = None) -> FakeApi:
        run = FakeRun(HISTORY if rows is None else rows)
        run.summary |= summary or {}
        return FakeApi(run)

    return make
