"""Writing a picture of a callback to the run folder and to every logger that takes images."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import Tensor
from torchvision.utils import save_image

__all__ = ["log_image", "run_folder"]


def run_folder(trainer: L.Trainer) -> Path:
    """The folder of this run: the first logger's version folder (CSV, TensorBoard) or save folder (W&B), else
    ``default_root_dir``.

    Unlike ``trainer.log_dir``, which broadcasts between processes under DDP, this is safe to call from global rank
    zero alone (where pictures are drawn): a collective there would wait forever for the other ranks.
    """
    if not trainer.loggers:
        return Path(trainer.default_root_dir)
    logger = trainer.loggers[0]
    folder = logger.log_dir if isinstance(logger, (CSVLogger, TensorBoardLogger)) else logger.save_dir
    return Path(folder or trainer.default_root_dir)


def log_image(trainer: L.Trainer, key: str, image: Tensor, caption: str, filename: str) -> Path:
    """Save ``image`` (3, H, W) in [0, 1] as ``<run folder>/images/<filename>`` and log it under ``key``.

    Every run gets the PNG, whatever its loggers; a ``WandbLogger`` (or any logger with ``log_image``) also gets
    it as an image with ``caption``, a ``TensorBoardLogger`` through ``add_image``. Call it on global rank zero.

    Returns:
        The path of the PNG.
    """
    folder = run_folder(trainer) / "images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    image = image.detach().float().clamp(0, 1).cpu()
    save_image(image, path)
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):  # WandbLogger, NeptuneLogger
            logger.log_image(key=key, images=[image], caption=[caption], step=trainer.global_step)
        elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoardLogger
            logger.experiment.add_image(key, image, global_step=trainer.global_step)
    return path
