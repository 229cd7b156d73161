"""``BestWorstImages``: the validation images the model restores best and worst by SSIM-Y, with their scores."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from sr_lightning.callbacks._outputs import module_scale, unpack_images
from sr_lightning.callbacks._periodic import check_every_n_epochs, is_due
from sr_lightning.callbacks.image_log import log_image
from sr_lightning.callbacks.images import Crop, _CropOffsets, make_panel, panel_grid
from sr_lightning.metrics.functional import ssim_y

__all__ = ["BestWorstImages", "format_ranking"]

log = logging.getLogger(__name__)
Kind = Literal["best", "worst"]


@dataclass
class _Candidate:
    """What drawing one ranked image needs: its score, a tie-break order, its name and its panel row (on CPU)."""

    score: float
    order: tuple[int, int]  # (rank, position in that rank's validation loader): earlier wins ties
    name: str
    row: Tensor


def _rank_key(kind: Kind, score: float, order: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    """Sort key putting the best (highest SSIM) or the worst (lowest) first; ties go to the earlier image."""
    return (-score if kind == "best" else score, order)


def _ranked(kind: Kind, candidates: list[_Candidate], k: int) -> list[_Candidate]:
    return sorted(candidates, key=lambda c: _rank_key(kind, c.score, c.order))[:k]


def _gather(candidates: list[_Candidate]) -> list[_Candidate]:
    """Every process's candidates on every process (under DDP), else ``candidates`` unchanged."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return candidates
    world_size = torch.distributed.get_world_size()
    if world_size == 1:
        return candidates
    gathered: list[list[_Candidate] | None] = [None] * world_size
    torch.distributed.all_gather_object(gathered, candidates)
    return [c for share in gathered for c in share or []]


def format_ranking(best: list[tuple[str, float]], worst: list[tuple[str, float]]) -> str:
    """A text table of the best and worst images with their SSIM-Y, side by side, best first and worst first.

    Example:
        >>> print(format_ranking([("bird", 0.95), ("head", 0.9)], [("baby", 0.81), ("head", 0.9)]))
        rank  best      SSIM-Y  worst     SSIM-Y
        1     bird      0.9500  baby      0.8100
        2     head      0.9000  head      0.9000
    """
    width = max([len("worst"), *(len(name) for name, _ in best + worst)]) + 2
    lines = [f"{'rank':6}{'best':{width}}SSIM-Y  {'worst':{width}}SSIM-Y"]
    for i, ((good, good_score), (bad, bad_score)) in enumerate(zip(best, worst, strict=True)):
        lines.append(f"{i + 1:<6}{good:{width}}{good_score:.4f}  {bad:{width}}{bad_score:.4f}")
    return "\n".join(lines)


class BestWorstImages(Callback):
    """Log the ``k`` validation images with the highest and the lowest SSIM-Y, with their scores.

    Every ``every_n_epochs``-th validation of a fit and every ``trainer.validate`` (never the sanity check), each
    validation image is scored with the paper protocol (:func:`~sr_lightning.metrics.functional.ssim_y` on the Y
    channel, border = the module's scale). Only the current ``k`` best and ``k`` worst are kept, each as a
    :func:`~sr_lightning.callbacks.images.make_panel` row (LR | bicubic | SR | HR, crop of the most detailed
    region, found once per image and then kept), its name (``outputs["name"]``, else ``#<position>`` in loader
    order) and its score. At the end of the validation, two grids go to ``val/best_ssim`` (best first) and
    ``val/worst_ssim`` (worst first), with captions listing name and SSIM-Y per row, as PNGs
    ``best_ssim_epoch<NNN>.png`` / ``worst_ssim_epoch<NNN>.png`` in ``<run folder>/images/`` and to W&B /
    TensorBoard loggers, with the scores as a table (``log_table`` for W&B, ``add_text`` for TensorBoard, and at
    INFO level to the ``sr_lightning.callbacks.ranked`` Python logger). Under DDP each process ranks its own share,
    the candidates are gathered with ``all_gather_object`` (an image that the ``DistributedSampler`` repeats to
    even out the shares counts once, by name), and global rank zero draws and logs.

    Attributes:
        best: ``(name, ssim_y)`` of the last drawn epoch, best first (on global rank zero).
        worst: the same, worst first.
        last_paths: ``{"best": png, "worst": png}`` of the last drawn epoch.

    Args:
        k: images in each list; with fewer validation images every image is in both.
        crop_size: crop side in HR pixels.
        every_n_epochs: how often to rank.
        crop: ``"detail"`` (the window with most edges) or ``"center"``.

    Raises:
        ValueError: a non-positive argument or an unknown ``crop``.
    """

    def __init__(self, k: int = 3, crop_size: int = 128, every_n_epochs: int = 1, crop: Crop = "detail") -> None:
        super().__init__()
        if k < 1 or crop_size < 1:
            raise ValueError(f"BestWorstImages needs positive values, got k={k}, crop_size={crop_size}.")
        if crop not in ("detail", "center"):
            raise ValueError(f"BestWorstImages crop must be 'detail' or 'center', got {crop!r}.")
        self.k = k
        self.crop_size = crop_size
        self.every_n_epochs = check_every_n_epochs("BestWorstImages", every_n_epochs)
        self.crop = crop
        self.best: list[tuple[str, float]] = []
        self.worst: list[tuple[str, float]] = []
        self.last_paths: dict[str, Path] = {}
        self._ranked: dict[Kind, list[_Candidate]] = {"best": [], "worst": []}
        self._seen = 0
        self._offsets = _CropOffsets(crop, crop_size)  # by (name, scale)

    def _active(self, trainer: L.Trainer) -> bool:
        return is_due(trainer, self.every_n_epochs)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._ranked, self._seen = {"best": [], "worst": []}, 0

    def _enters(self, kind: Kind, score: float, order: tuple[int, int]) -> bool:
        ranked = self._ranked[kind]
        if len(ranked) < self.k:
            return True
        return _rank_key(kind, score, order) < _rank_key(kind, ranked[-1].score, ranked[-1].order)

    def on_validation_batch_end(self, trainer, pl_module, outputs: Any, batch, batch_idx, dataloader_idx=0) -> None:
        if not self._active(trainer):
            return
        lr, sr, hr = unpack_images(outputs, "BestWorstImages")
        scale = module_scale(pl_module)
        scores = ssim_y(sr, hr, border=scale, reduction="none").tolist()
        names = outputs.get("name") or [None] * len(scores)
        for i, score in enumerate(scores):
            position, self._seen = self._seen, self._seen + 1
            order = (trainer.global_rank, position)
            kinds = [kind for kind in ("best", "worst") if self._enters(kind, score, order)]
            if not kinds:
                continue
            fallback = f"#{position}" if trainer.world_size == 1 else f"#{trainer.global_rank}.{position}"
            name = names[i] or fallback
            offset = self._offsets(name, hr[i], scale)
            row = make_panel(lr[i], sr[i], hr[i], scale, self.crop_size, offset).cpu()
            candidate = _Candidate(score, order, name, row)
            for kind in kinds:
                self._ranked[kind] = _ranked(kind, [*self._ranked[kind], candidate], self.k)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._active(trainer):
            return
        # Every process takes part in the gather; one list (best and worst, each row once) per process.
        local = list({id(c): c for kind in ("best", "worst") for c in self._ranked[kind]}.values())
        self._ranked = {"best": [], "worst": []}
        gathered = _gather(local)
        if not trainer.is_global_zero or not gathered:
            return
        # A DistributedSampler repeats a few images to even out the shares: keep each name once.
        unique: dict[str, _Candidate] = {}
        for candidate in sorted(gathered, key=lambda c: c.order):
            unique.setdefault(candidate.name, candidate)
        candidates = list(unique.values())
        epoch = trainer.current_epoch
        ranked = {kind: _ranked(kind, candidates, self.k) for kind in ("best", "worst")}
        self.best = [(c.name, c.score) for c in ranked["best"]]
        self.worst = [(c.name, c.score) for c in ranked["worst"]]
        for kind, chosen in ranked.items():
            listing = "; ".join(f"{i + 1}. {c.name} {c.score:.4f}" for i, c in enumerate(chosen))
            caption = f"{kind} SSIM-Y (rows LR | bicubic | SR | HR): {listing}"
            grid = panel_grid([c.row for c in chosen])
            self.last_paths[kind] = log_image(
                trainer, f"val/{kind}_ssim", grid, caption, f"{kind}_ssim_epoch{epoch:03d}.png"
            )
        table = format_ranking(self.best, self.worst)
        log.info("Validation images by SSIM-Y after epoch %d:\n%s", epoch, table)
        self._log_table(trainer)

    def _log_table(self, trainer: L.Trainer) -> None:
        rows = [
            [kind, i + 1, name, score]
            for kind in ("best", "worst")
            for i, (name, score) in enumerate(self.best if kind == "best" else self.worst)
        ]
        for logger in trainer.loggers:
            if hasattr(logger, "log_table"):  # WandbLogger
                logger.log_table(
                    key="val/ssim_ranking",
                    columns=["list", "rank", "name", "ssim_y"],
                    data=rows,
                    step=trainer.global_step,
                )
            elif hasattr(getattr(logger, "experiment", None), "add_text"):  # TensorBoardLogger
                text = "    " + format_ranking(self.best, self.worst).replace("\n", "\n    ")  # markdown code block
                logger.experiment.add_text("val/ssim_ranking", text, global_step=trainer.global_step)
