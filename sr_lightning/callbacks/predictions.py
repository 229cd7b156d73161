"""Writing what ``trainer.predict`` upscales: one lossless PNG per input image, under the run folder.

``sr-lightning predict`` (LightningCLI) runs the module's ``predict_step`` over ``data.predict_dir``; without a
writer the results stay in memory and are lost. :class:`PredictionWriter` saves each one as
``<output_dir>/<input path without suffix>_x<scale>.png``, the input's sub-folders mirrored.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from PIL import Image
from torch import Tensor

from sr_lightning.callbacks._outputs import module_scale
from sr_lightning.callbacks.image_log import run_folder

__all__ = ["PredictionWriter", "prediction_path"]


def prediction_path(output_dir: str | Path, path: str, scale: int) -> Path:
    """Where the result of the input at ``path`` (relative, as in a predict batch's ``"path"``) is written.

    Example:
        >>> prediction_path("out", "2024/beach.jpg", 4).as_posix()
        'out/2024/beach_x4.png'
    """
    relative = Path(path)
    return Path(output_dir) / relative.parent / f"{relative.stem}_x{scale}.png"


def _to_image(sr: Tensor) -> Image.Image:
    """(3, H, W) floats in [0, 1] -> an 8-bit RGB image, each value rounded to the nearest level."""
    levels = (sr.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return Image.fromarray(np.ascontiguousarray(levels.permute(1, 2, 0).numpy()))


def _save_atomically(image: Image.Image, target: Path) -> None:
    """Write a PNG to a temporary file next to ``target``, then rename it into place (one atomic step), so a reader,
    or a second process writing the same file (a DDP rank with the same padded sample), never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(temporary, "xb") as file:  # created with the usual permissions (umask), unlike mkstemp's 0600
            image.save(file, format="PNG")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _loaders(iterables: Any) -> Iterable[Any]:
    if isinstance(iterables, dict):
        return iterables.values()
    return iterables if isinstance(iterables, (list, tuple)) else [iterables]


class PredictionWriter(BasePredictionWriter):
    """Save every image ``trainer.predict`` upscales as a lossless 8-bit PNG.

    The result of the input at ``batch["path"]`` (relative to ``predict_dir``, see
    :class:`~sr_lightning.data.lr_images.LRImageDataset`; ``batch["name"] + ".png"`` for batches without paths) is
    written to ``<output_dir>/<path without suffix>_x<scale>.png``, creating its sub-folders. ``predict_step`` may
    return the (B, 3, sH, sW) tensor in [0, 1] or a dict holding it as ``"sr"``. Each file is written to a temporary
    name and renamed into place, so an interrupted run or two processes writing the same file never leave a broken
    PNG. Under DDP each rank writes the images of its own share of the batches; nothing is exchanged between ranks.
    At the end, each process prints how many images it wrote and where.

    Args:
        output_dir: the folder of the results; None: ``<run folder>/predictions`` (the first logger's version
            folder, else ``default_root_dir``).
        tile: upscale in tiles of this many LR pixels (bounded memory on large images); None: in one pass. Set on
            the module as ``predict_tile`` when predict starts, for its ``predict_step`` to use.
        overlap: LR pixels of context around each tile, set on the module as ``predict_overlap``.

    Raises:
        ValueError: a ``tile`` below 1 or a negative ``overlap``; when predict starts or a batch ends, a result
            that would overwrite an input file (the message names it); a batch whose paths and images differ in
            number.
        TypeError: a ``predict_step`` that returns neither a tensor nor a dict with ``"sr"``, or a batch with
            neither ``"path"`` nor ``"name"``.

    Example:
        >>> writer = PredictionWriter(output_dir="results", tile=128)
        >>> writer.tile, writer.overlap
        (128, 16)
    """

    def __init__(self, output_dir: str | None = None, tile: int | None = 256, overlap: int = 16) -> None:
        super().__init__(write_interval="batch")
        if tile is not None and tile < 1:
            raise ValueError(f"tile must be a positive number of LR pixels or None, got {tile!r}.")
        if overlap < 0:
            raise ValueError(f"overlap must be >= 0, got {overlap!r}.")
        self.output_dir = output_dir
        self.tile = tile
        self.overlap = overlap
        self.written: list[Path] = []
        self._folder: Path | None = None
        self._inputs: set[Path] = set()

    @property
    def folder(self) -> Path:
        """The folder results go to (known once predict has started)."""
        if self._folder is None:
            raise RuntimeError("PredictionWriter.folder is known once trainer.predict has started.")
        return self._folder

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.predict_tile = self.tile
        pl_module.predict_overlap = self.overlap
        self._folder = Path(self.output_dir) if self.output_dir is not None else run_folder(trainer) / "predictions"
        self._folder.mkdir(parents=True, exist_ok=True)
        self.written = []
        self._inputs = set()
        datasets = [getattr(loader, "dataset", None) for loader in _loaders(trainer.predict_dataloaders)]
        for dataset in datasets:
            self._inputs.update(Path(file).resolve() for file in getattr(dataset, "input_files", ()))
        try:
            scale = module_scale(pl_module)
        except AttributeError:
            return  # no scale yet: each batch is checked when written
        for dataset in datasets:  # fail before upscaling anything when a result would overwrite an input
            for path in getattr(dataset, "paths", ()):
                self._check_target(prediction_path(self._folder, path, scale), path)

    def _check_target(self, target: Path, path: str) -> None:
        if target.resolve() in self._inputs:
            raise ValueError(
                f"The prediction for {path} would overwrite the input file {target}: give PredictionWriter another "
                "output_dir."
            )

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        sr = prediction.get("sr") if isinstance(prediction, dict) else prediction
        if not isinstance(sr, Tensor) or sr.dim() != 4:
            raise TypeError(
                "PredictionWriter needs predict_step to return the (B, 3, sH, sW) images, as a tensor or as "
                f"{{'sr': tensor, ...}}; got {type(prediction).__name__}."
            )
        paths = self._paths(batch)
        if len(paths) != sr.shape[0]:
            raise ValueError(f"predict batch {batch_idx} has {len(paths)} paths but {sr.shape[0]} predicted images.")
        scale = self._scale(pl_module, batch, sr)
        for path, image in zip(paths, sr, strict=True):
            target = prediction_path(self.folder, path, scale)
            self._check_target(target, path)
            _save_atomically(_to_image(image), target)
            self.written.append(target)

    @staticmethod
    def _paths(batch: Any) -> list[str]:
        if isinstance(batch, dict) and batch.get("path") is not None:
            return list(batch["path"])
        if isinstance(batch, dict) and batch.get("name") is not None:
            return [f"{name}.png" for name in batch["name"]]
        raise TypeError(
            "PredictionWriter names each result after its input: the predict batch needs 'path' (SRDataModule's "
            "predict batches have it) or 'name'."
        )

    @staticmethod
    def _scale(pl_module: L.LightningModule, batch: Any, sr: Tensor) -> int:
        try:
            return module_scale(pl_module)
        except AttributeError:
            if isinstance(batch, dict) and isinstance(batch.get("lr"), Tensor):
                return sr.shape[-1] // batch["lr"].shape[-1]
            raise

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        where = f"rank {trainer.global_rank} of {trainer.world_size}: " if trainer.world_size > 1 else ""
        # One write of the whole line: the ranks of a run share stdout, and print() writes the newline separately.
        sys.stdout.write(f"PredictionWriter: {where}wrote {len(self.written)} image(s) to {self.folder}\n")
        sys.stdout.flush()
