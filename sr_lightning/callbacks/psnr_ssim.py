"""``SRMetrics``: PSNR/SSIM (RGB and Y) of the model and of bicubic, logged by any module that returns images."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from sr_lightning.callbacks._outputs import bicubic_upscale, module_scale, unpack_images
from sr_lightning.callbacks._periodic import PeriodicEvaluation
from sr_lightning.metrics import PSNR, SSIM

__all__ = ["SRMetrics"]


class SRMetrics(PeriodicEvaluation):
    """Score validation and test outputs with the paper protocol and log them.

    Logs ``<stage>/psnr``, ``<stage>/ssim`` (RGB), ``<stage>/psnr_y``, ``<stage>/ssim_y`` (Y channel) and, with
    ``bicubic=True``, the same for the MATLAB-bicubic upscale of the LR input (``<stage>/bicubic_psnr_y``...), so
    every run shows its gain. Every value is a per-image mean with ``border`` pixels cropped (default: the
    module's scale, which a progressive schedule may change). The metrics are torchmetrics objects, so under DDP
    each process updates its own share and ``compute`` synchronises them before logging.

    The bicubic scores of an image never change, so they are computed once and kept, keyed on the image's name,
    scale, border and a checksum of its LR and HR pixels: later validations add the kept per-image values (the
    same float64 numbers, so the logged means are identical) without upscaling or scoring bicubic again. Images
    without a name (a module whose steps return none) are scored every time.

    With ``scale_in_names`` (by default: when a :class:`~sr_lightning.callbacks.ProgressiveScale` runs) every value
    is also logged under a name that carries the scale, ``val/psnr_y_x2`` then ``val/psnr_y_x4``, so the curves of
    the stages do not join into one.

    Validation is scored in the epochs whose 1-based number is a multiple of ``every_n_epochs`` (the count
    ``Trainer(check_val_every_n_epoch=...)`` and ``ModelCheckpoint(every_n_epochs=...)`` use), never in the sanity
    check; ``trainer.validate`` and ``trainer.test`` are scored every time. ``val/psnr_y`` is logged by this callback
    and nothing else, so a checkpoint or a ``ReduceLROnPlateau`` that monitors one of its values must only look on
    the epochs it is scored: with ``every_n_epochs > 1``, ``on_fit_start`` raises unless the trainer validates only
    on those epochs (``check_val_every_n_epoch`` a multiple of ``every_n_epochs``), or every such ``ModelCheckpoint``
    saves only on them (its ``every_n_epochs`` a multiple, no step or time interval) and no scheduler monitors them.

    Args:
        border: pixels cropped from every side; ``None`` uses the module's ``scale``.
        bicubic: also score the bicubic baseline.
        rgb: also score on RGB (the Y channel is always scored).
        scale_in_names: also log ``<stage>/<metric>_x<scale>``; ``None``: when the trainer has a ProgressiveScale.
        every_n_epochs: score the validation of every this-many-th epoch of a fit.

    Raises:
        ValueError: a negative ``border`` or ``every_n_epochs`` below 1; when a fit starts, a checkpoint or scheduler
            that would look for a value on an epoch it is not scored (see above).
    """

    def __init__(
        self,
        border: int | None = None,
        bicubic: bool = True,
        rgb: bool = True,
        scale_in_names: bool | None = None,
        every_n_epochs: int = 1,
    ) -> None:
        if border is not None and border < 0:
            raise ValueError(f"SRMetrics border must be >= 0 or None, got {border}.")
        super().__init__(every_n_epochs)
        self.border = border
        self.bicubic = bicubic
        self.rgb = rgb
        self.scale_in_names = scale_in_names
        self._metrics: dict[str, nn.ModuleDict] = {}
        self._bicubic_scores: dict[tuple[Any, ...], dict[str, float]] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop before training when a checkpoint or a scheduler would look for a value of this callback after an
        epoch that it does not score (Lightning would raise at the end of the first epoch, or rank stale values)."""
        if self.every_n_epochs == 1 or (trainer.check_val_every_n_epoch or 1) % self.every_n_epochs == 0:
            return  # every validation is scored
        keys = {f"val/{name}" for name in self._make_metrics()}

        def ours(monitor: str | None) -> bool:
            return monitor is not None and (monitor in keys or monitor.rsplit("_x", 1)[0] in keys)

        fix = (
            f"give the Trainer check_val_every_n_epoch={self.every_n_epochs} (or a multiple), or score every epoch "
            f"(SRMetrics every_n_epochs=1)"
        )
        for checkpoint in trainer.checkpoint_callbacks:
            monitor = getattr(checkpoint, "monitor", None)
            if not ours(monitor):
                continue
            every = getattr(checkpoint, "_every_n_epochs", 1)
            steps = getattr(checkpoint, "_every_n_train_steps", 0) or getattr(checkpoint, "_train_time_interval", None)
            if every < 1 or every % self.every_n_epochs != 0 or steps:
                raise ValueError(
                    f"{type(checkpoint).__name__}(monitor={monitor!r}) would look for {monitor} after epochs that "
                    f"SRMetrics(every_n_epochs={self.every_n_epochs}) does not score: give the checkpoint "
                    f"every_n_epochs={self.every_n_epochs} (or a multiple), or {fix}."
                )
        for config in trainer.lr_scheduler_configs:
            if ours(config.monitor):
                raise ValueError(
                    f"{type(config.scheduler).__name__} monitors {config.monitor!r}, which "
                    f"SRMetrics(every_n_epochs={self.every_n_epochs}) does not score on every epoch: {fix}."
                )

    def _make_metrics(self) -> nn.ModuleDict:
        metrics: dict[str, nn.Module] = {"psnr_y": PSNR(y_channel=True), "ssim_y": SSIM(y_channel=True)}
        if self.rgb:
            metrics |= {"psnr": PSNR(), "ssim": SSIM()}
        if self.bicubic:
            metrics |= {f"bicubic_{name}": type(m)(y_channel=m.y_channel) for name, m in metrics.items()}
        return nn.ModuleDict(metrics)

    def _start_epoch(self, stage: str) -> None:
        self._metrics.pop(stage, None)

    def _score_batch(self, stage: str, pl_module: L.LightningModule, outputs: Any) -> None:
        lr, sr, hr = unpack_images(outputs, f"SRMetrics ({stage})")
        scale = module_scale(pl_module)
        border = scale if self.border is None else self.border
        metrics = self._metrics.get(stage)
        if metrics is None:
            metrics = self._metrics[stage] = self._make_metrics().to(pl_module.device)
        for name, metric in metrics.items():
            metric.border = border
            if not name.startswith("bicubic_"):
                metric.update(sr, hr)
        if self.bicubic:
            names = outputs.get("name") or [None] * lr.shape[0]
            for name, values in self._bicubic(metrics, lr, hr, names, scale, border).items():
                metrics[name].update(scores=values)

    def _bicubic(
        self, metrics: nn.ModuleDict, lr: Tensor, hr: Tensor, names: list[str | None], scale: int, border: int
    ) -> dict[str, Tensor]:
        """The per-image bicubic scores of a batch by metric name, from the kept scores where there are any."""
        keys = [None if name is None else _image_key(name, lr[i], hr[i], scale, border) for i, name in enumerate(names)]
        todo = [i for i, key in enumerate(keys) if key is None or key not in self._bicubic_scores]
        baseline = [name for name in metrics if name.startswith("bicubic_")]
        fresh: dict[str, Tensor] = {}
        if todo:
            upscaled = bicubic_upscale(lr[todo], scale)
            fresh = {name: metrics[name].scores(upscaled, hr[todo]).double().cpu() for name in baseline}
        rows = []
        for i, key in enumerate(keys):
            if i in todo:
                row = {name: float(fresh[name][todo.index(i)]) for name in baseline}
                if key is not None:
                    self._bicubic_scores[key] = row
            else:
                row = self._bicubic_scores[key]
            rows.append(row)
        return {name: torch.tensor([row[name] for row in rows], dtype=torch.float64) for name in baseline}

    def _finish_epoch(self, stage: str, pl_module: L.LightningModule) -> None:
        metrics = self._metrics.pop(stage, None)
        if metrics is None:
            return
        tagged = self.scale_in_names
        if tagged is None:
            callbacks = pl_module.trainer.callbacks if pl_module._trainer is not None else []
            tagged = any(type(callback).__name__ == "ProgressiveScale" for callback in callbacks)
        scale = module_scale(pl_module)
        for name, metric in metrics.items():
            value = metric.compute()
            pl_module.log(f"{stage}/{name}", value, prog_bar=name == "psnr_y")
            if tagged:
                pl_module.log(f"{stage}/{name}_x{scale}", value)
            metric.reset()


def _image_key(name: str, lr: Tensor, hr: Tensor, scale: int, border: int) -> tuple[Any, ...]:
    """What identifies an image's bicubic scores: its name, the protocol, its sizes and a checksum of its pixels (two
    images of one name in two folders, or a changed file, do not share scores)."""
    checksum = []
    for image in (lr, hr):
        flat = image.detach().double().flatten()
        checksum += [float(flat.sum()), float((flat * torch.linspace(1, 2, flat.numel(), dtype=flat.dtype)).sum())]
    return (name, scale, border, tuple(lr.shape), tuple(hr.shape), tuple(checksum))
