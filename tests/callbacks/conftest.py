"""A tiny x2 DataModule for the callback tests: textured 48x40 training and validation images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sr_lightning import SRDataModule


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
