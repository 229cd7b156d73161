"""Fixtures of the data tests: tiny images written to tmp_path, and the shared Set5 benchmark (or a skip)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SET5 = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "Set5"


@pytest.fixture
def set5_dir() -> Path:
    """``../shared/benchmarks/Set5`` next to the repository root; the test is skipped when it is absent."""
    if not (SET5 / "HR").is_dir() or not (SET5 / "LR_bicubic").is_dir():
        pytest.skip(f"Set5 benchmark not found at {SET5}")
    return SET5


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A (height, width, 3) uint8 image: smooth colour waves plus noise, different for each seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    phase = rng.uniform(0, 2 * np.pi, 3)
    waves = np.stack([np.sin(xx / (3 + c) + phase[c]) * np.cos(yy / (4 + c)) for c in range(3)], -1)
    return ((waves + 1) * 100 + rng.uniform(0, 55, waves.shape)).astype(np.uint8)


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """``write_image(path, height, width, seed=0)`` saves a textured RGB image (format from the suffix)."""

    def write(path: Path, height: int, width: int, seed: int = 0) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(textured(height, width, seed)).save(path)
        return path

    return write


@pytest.fixture
def image_folder(tmp_path: Path, write_image: Callable[..., Path]) -> Callable[..., Path]:
    """``image_folder(sizes, name="imgs")`` writes ``img<i>.png`` of the given (h, w) sizes into a new folder."""

    def make(sizes: Sequence[tuple[int, int]], name: str = "imgs") -> Path:
        folder = tmp_path / name
        for i, (height, width) in enumerate(sizes):
            write_image(folder / f"img{i}.png", height, width, seed=i)
        return folder

    return make


@pytest.fixture
def truncate() -> Callable[[Path], Path]:
    """``truncate(path)`` cuts a file to half its length, as an interrupted copy would."""

    def cut(path: Path) -> Path:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path

    return cut
