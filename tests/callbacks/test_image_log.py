"""The panels reach the loggers: a real offline W&B run gets the media files, a TensorBoard-like one add_image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger
from PIL import Image

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks.images import ImagePanel
from sr_lightning.callbacks.ranked import BestWorstImages


def _fit(tmp_path: Path, tiny_data, tiny_trainer, logger: Logger) -> tuple[ImagePanel, BestWorstImages]:
    data = tiny_data(3)
    panel, ranker = ImagePanel(num_images=2, crop_size=16), BestWorstImages(k=2, crop_size=16)
    trainer = tiny_trainer(
        max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0, logger=logger, callbacks=[panel, ranker]
    )
    trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    return panel, ranker


def test_wandb_offline_run_gets_the_images_and_the_table(tmp_path: Path, tiny_data, tiny_trainer, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="sr-lightning-test")
    try:
        panel, ranker = _fit(tmp_path, tiny_data, tiny_trainer, logger)
    finally:
        logger.experiment.finish()
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    media = run / "files" / "media"
    logged = {path.name.split("_")[0]: path for path in (media / "images" / "val").glob("*.png")}
    assert sorted(logged) == ["best", "panel", "worst"]  # val/panel, val/best_ssim, val/worst_ssim
    ours = {"panel": panel.last_path, **ranker.last_paths}
    assert all(path.parent == tmp_path / "images" for path in ours.values())  # the PNGs too
    for key, path in logged.items():
        assert Image.open(path).size == Image.open(ours[key]).size
    (table,) = (media / "table" / "val").glob("ssim_ranking*.table.json")
    rows = json.loads(table.read_text())["data"]
    assert [row[2] for row in rows if row[0] == "best"] == [name for name, _ in ranker.best]
    assert [row[3] for row in rows if row[0] == "worst"] == [score for _, score in ranker.worst]


class _Board:
    """Records what a TensorBoard ``SummaryWriter`` would receive."""

    def __init__(self) -> None:
        self.images: list[tuple[str, tuple[int, ...], int]] = []
        self.texts: list[tuple[str, str]] = []

    def add_image(self, tag: str, img_tensor: Any, global_step: int) -> None:
        self.images.append((tag, tuple(img_tensor.shape), global_step))

    def add_text(self, tag: str, text: str, global_step: int) -> None:
        self.texts.append((tag, text))


class _BoardLogger(Logger):
    """A stand-in for ``TensorBoardLogger`` (tensorboard is not installed): metrics dropped, images recorded."""

    def __init__(self, save_dir: Path) -> None:
        super().__init__()
        self.board = _Board()
        self._save_dir = save_dir

    name = "board"
    version = 0

    @property
    def save_dir(self) -> str:
        return str(self._save_dir)

    @property
    def experiment(self) -> _Board:
        return self.board

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


def test_tensorboard_like_logger_gets_add_image(tmp_path: Path, tiny_data, tiny_trainer) -> None:
    logger = _BoardLogger(tmp_path / "board")
    panel, ranker = _fit(tmp_path, tiny_data, tiny_trainer, logger)
    size = Image.open(panel.last_path).size
    assert logger.board.images == [
        ("val/panel", (3, size[1], size[0]), 1),  # global step 1: one training batch
        ("val/best_ssim", (3, 2 * 16 + 3 * 2, 4 * 16 + 5 * 2), 1),
        ("val/worst_ssim", (3, 2 * 16 + 3 * 2, 4 * 16 + 5 * 2), 1),
    ]
    assert panel.last_path == tmp_path / "board" / "images" / "val_epoch000.png"  # the PNG is written as well
    ((tag, text),) = logger.board.texts
    assert tag == "val/ssim_ranking" and ranker.best[0][0] in text and f"{ranker.worst[0][1]:.4f}" in text
