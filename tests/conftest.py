"""Shared fixtures: the ../shared benchmark data (tests using it skip when it is absent), tiny images and a tiny
CLI-trained checkpoint."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning import SRDataModule

# `make gpu-check` sets this: every test marked `gpu` must then run, and one that skips fails instead.
REQUIRE_GPU = os.environ.get("SR_LIGHTNING_REQUIRE_GPU") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SET5 = SHARED / "benchmarks" / "Set5"
QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "configs" / "quickstart.yaml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU; skipped without one, run by `make gpu-check`")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under ``make gpu-check`` a skipped GPU test is a failure: the check must not pass by running nothing."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_GPU and report.skipped and item.get_closest_marker("gpu") is not None:
        report.outcome = "failed"
        report.longrepr = f"a gpu test skipped under SR_LIGHTNING_REQUIRE_GPU=1: {report.longrepr}"


@pytest.fixture
def cuda() -> torch.device:
    """The CUDA device, for tests marked ``gpu``; they skip where torch sees none (and fail under gpu-check)."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (`make gpu-check` runs the tests marked gpu)")
    return torch.device("cuda")


@pytest.fixture
def set5_root() -> Path:
    """The Set5 folder of ../shared/benchmarks, or a skip when this checkout has no ../shared."""
    if not (SET5 / "HR").is_dir():
        pytest.skip(f"benchmark data not found at {SET5}")
    return SET5


def _write_images(folder: Path, count: int = 4, size: tuple[int, int] = (48, 40)) -> Path:
    """Smooth colour images with some texture: real enough for SR, tiny enough for the CPU."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    for i in range(count):
        phase = rng.uniform(0, 2 * np.pi, 3)
        img = np.stack([np.sin(xx / (3 + i) + phase[c]) * np.cos(yy / (4 + c) + phase[c]) for c in range(3)], -1)
        img = (img + 1) / 2 * 200 + rng.uniform(0, 55, img.shape)
        Image.fromarray(img.astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME, with any ``torch.hub.set_dir`` undone, so the hub cache is ``<tmp>/hub/checkpoints``."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt fails the test."""

    def fail(*args, **kwargs) -> None:
        raise AssertionError(f"tried to download {args[0]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)


@dataclass
class OfflineDownloads:
    """What the code tried to download on the fake offline machine: URLs and the hash prefixes asked for."""

    urls: list[str] = field(default_factory=list)
    hash_prefixes: list[str | None] = field(default_factory=list)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> OfflineDownloads:
    """Downloads write a partial file, then fail as an offline machine would; the attempts are recorded."""
    tried = OfflineDownloads()

    def fail(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
        tried.urls.append(url)
        tried.hash_prefixes.append(hash_prefix)
        Path(dst).write_bytes(b"partial")
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    return tried


@pytest.fixture
def write_images() -> Callable[..., Path]:
    """``write_images(folder, count=4, size=(h, w))`` writes small textured PNGs and returns the folder."""
    return _write_images


@pytest.fixture
def tiny_data(tmp_path: Path, write_images) -> Callable[..., SRDataModule]:
    """``tiny_data(val_images=2, size=(48, 40), **datamodule_overrides)``: x2 patches of 24 px, batches of 2."""

    def make(val_images: int = 2, size: tuple[int, int] = (48, 40), **overrides) -> SRDataModule:
        options = dict(
            scale=2,
            train_dir=str(write_images(tmp_path / "train")),
            val_dir=str(write_images(tmp_path / "val", val_images, size=size)),
            patch_size=24,
            batch_size=2,
        )
        return SRDataModule(**{**options, **overrides})

    return make


@pytest.fixture
def tiny_trainer(tmp_path: Path) -> Callable[..., L.Trainer]:
    """``tiny_trainer(**overrides)``: a quiet CPU Trainer in ``tmp_path`` (no logger, checkpoints or progress bar)."""

    def make(**overrides) -> L.Trainer:
        defaults = dict(
            default_root_dir=tmp_path,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        return L.Trainer(**{**defaults, **overrides})

    return make


def _noise_images(folder: Path, count: int, size: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def fit_tiny_checkpoint(root: Path, ema_decay: float | None = 0.5) -> Path:
    """Train a 1-block, 8-feature x2 EDSR for 2 steps with the CLI and return its ``last.ckpt``."""
    train = _noise_images(root / "train", count=4, size=32)
    args = [
        "fit",
        f"--config={QUICKSTART}",
        f"--trainer.logger.init_args.save_dir={root / 'runs'}",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        "--model.init_args.generator.init_args.n_resblocks=1",
        "--model.init_args.generator.init_args.n_feats=8",
        f"--model.init_args.ema_decay={ema_decay}",
        f"--data.train_dir={train}",
        "--data.patch_size=16",
        "--data.batch_size=2",
        "--data.repeat=1",
        "--data.cache_images=false",
    ]
    from sr_lightning.cli import main

    main(args)
    return root / "runs" / "quickstart" / "version_0" / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of a 2-step CLI run of a tiny x2 EDSR whose EMA (decay 0.5) differs from its weights."""
    return fit_tiny_checkpoint(tmp_path_factory.mktemp("tiny_run"))
