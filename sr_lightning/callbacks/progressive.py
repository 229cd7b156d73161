"""Progressive training (Tyagi's thesis): switch the scale at epoch boundaries, x2 first, then x4, keeping the body."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["ProgressiveScale"]


class ProgressiveScale(L.Callback):
    """Train at the scales of a schedule ``{first epoch: scale}``, e.g. ``{0: 2, 10: 4}`` (Tyagi's thesis).

    At each boundary the generator switches to its tail for the new scale (its body keeps its weights), the
    DataModule switches its LR/HR pairs (training patches and validation images), and the metrics' border follows
    (through the module's ``set_scale``). The metrics are logged under names that carry the scale as well
    (``val/psnr_y_x4``, see :class:`~sr_lightning.callbacks.SRMetrics`), and the best checkpoint is chosen within
    each stage: at a switch the checkpoint callbacks forget the earlier stage's scores (its best file stays), so
    the run's best checkpoint is one of the final scale. Checkpoints record the scale they were written at.
    The scale is logged as ``train/scale`` and saved in the callback's checkpoint state; on resume the scale of the
    resumed epoch is set again before its first batch.

    The generator needs one tail per scale, like :class:`~sr_lightning.models.EDSRMSA` built with
    ``scales=(2, 4)``; the DataModule's ``patch_size`` must be a multiple of every scale.

    Args:
        schedule: ``{epoch: scale}``; it must start at epoch 0.

    Raises:
        ValueError: an empty schedule, no entry for epoch 0, a negative epoch, or a generator without a tail for a
            scale of the schedule.

    Example:
        >>> ProgressiveScale({0: 2, 10: 4}).scale_at(12)
        4
    """

    def __init__(self, schedule: dict[int, int]) -> None:
        if not schedule:
            raise ValueError("ProgressiveScale needs a schedule like {0: 2, 10: 4}; got an empty one.")
        if 0 not in schedule:
            raise ValueError(f"the schedule must say the scale of epoch 0, got {schedule!r}.")
        if any(epoch < 0 for epoch in schedule):
            raise ValueError(f"schedule epochs must not be negative, got {schedule!r}.")
        self.schedule = dict(sorted((int(e), int(s)) for e, s in schedule.items()))
        self.current_scale: int | None = None

    def scale_at(self, epoch: int) -> int:
        """The scale the schedule gives for ``epoch``."""
        return next(scale for start, scale in reversed(self.schedule.items()) if epoch >= start)

    def _apply(self, trainer: L.Trainer, pl_module: L.LightningModule, scale: int) -> None:
        generator = pl_module.generator
        scales = getattr(generator, "scales", (generator.scale,))
        missing = sorted(set(self.schedule.values()) - set(scales))
        if missing:
            raise ValueError(
                f"ProgressiveScale {self.schedule} needs a generator with a tail for every scale; "
                f"{type(generator).__name__} has {tuple(scales)}, not {missing}. Build it with, e.g., "
                f"EDSRMSA(scales={tuple(sorted(set(self.schedule.values())))})."
            )
        switched = self.current_scale is not None and self.current_scale != scale
        if hasattr(pl_module, "set_scale"):  # the library's modules: generator, EMA and data together
            pl_module.set_scale(scale)
        else:
            generator.scale = scale
            datamodule = getattr(trainer, "datamodule", None)
            if datamodule is not None and datamodule.scale != scale:
                datamodule.scale = scale
        if switched:
            self._new_stage(trainer, scale)
        self.current_scale = scale

    def _new_stage(self, trainer: L.Trainer, scale: int) -> None:
        """The best checkpoint of the new stage is chosen among its own epochs: scores of another scale do not
        compare (bicubic alone falls by 3.5 dB from x2 to x4). The earlier stage's best file stays on disk."""
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.monitor is not None:
                kept = callback.best_model_path
                callback.best_k_models = {}
                callback.kth_best_model_path = ""
                callback.best_model_path = ""
                callback.best_model_score = None
                callback.kth_value = torch.tensor(float("inf") if callback.mode == "min" else float("-inf"))
                if kept and trainer.is_global_zero:
                    print(
                        f"ProgressiveScale: x{scale} from epoch {trainer.current_epoch}; the best checkpoint is now "
                        f"chosen among x{scale} epochs (the previous stage's best stays: {kept}).",
                        flush=True,
                    )

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":  # before the module checks that data and generator agree
            self._apply(trainer, pl_module, self.scale_at(0))

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After a checkpoint is restored and before the first training iterator exists.
        self._apply(trainer, pl_module, self.scale_at(trainer.current_epoch))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, self.scale_at(trainer.current_epoch))
        pl_module.log("train/scale", float(self.current_scale), on_step=False, on_epoch=True, batch_size=1)

    def state_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "current_scale": self.current_scale}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.current_scale = state_dict.get("current_scale")
