"""``SRCheckpoint``: Lightning's ``ModelCheckpoint`` with a ``last.ckpt`` that is always the newest state of the run."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

__all__ = ["SRCheckpoint"]


class SRCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``last.ckpt`` never lags behind and whose "best" is never a NaN.

    Takes every argument of :class:`~lightning.pytorch.callbacks.ModelCheckpoint`; ``sr-lightning`` uses it for its
    ``checkpoint`` key. Three differences, each a way a run could otherwise lose work or keep garbage:

    - ``last.ckpt`` (with ``save_last``) is written after every validation of a fit, whether or not the monitored
      value improved (``ModelCheckpoint`` may only refresh it together with a top-k checkpoint), at every
      ``every_n_train_steps`` step even before the monitored value exists (the first validation), and at the end of
      every training epoch.
    - With ``save_last_before_validation`` that end-of-epoch ``last.ckpt`` is also written when the epoch's
      validation starts, so a validation that fails (a broken image, a metric that raises) cannot take the epoch's
      training with it. The validation then writes it again, with its scores.
    - A monitored value that is NaN or infinite is never ranked: no ``best-...-psnr_ynan.ckpt``, and a finite best
      is never replaced by one. A warning names the value.

    Args:
        save_last_before_validation: also write ``last.ckpt`` after the last training batch of each epoch.
        **kwargs: the arguments of ``ModelCheckpoint`` (``monitor``, ``mode``, ``save_top_k``, ``save_last``,
            ``every_n_train_steps``...).
    """

    def __init__(self, *args: Any, save_last_before_validation: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.save_last_before_validation = save_last_before_validation
        self._last_writes = 0
        self._last_written_step = -1

    def _fitting(self, trainer: L.Trainer) -> bool:
        return (
            bool(self.save_last)
            and not trainer.fast_dev_run
            and trainer.state.fn == TrainerFn.FITTING
            and not trainer.sanity_checking
        )

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, Tensor]) -> None:
        self._last_writes += 1
        self._last_written_step = trainer.global_step
        super()._save_last_checkpoint(trainer, monitor_candidates)

    def _save_topk_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, Tensor]) -> None:
        current = monitor_candidates.get(self.monitor) if self.monitor is not None else None
        if current is not None and not bool(torch.isfinite(current).all()):
            rank_zero_warn(
                f"SRCheckpoint: {self.monitor} = {float(current)} at epoch {trainer.current_epoch}, step "
                f"{trainer.global_step} is not finite; this state is not ranked among the best checkpoints."
            )
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)

    def _write_last(self, trainer: L.Trainer) -> None:
        """Write last.ckpt now, leaving ModelCheckpoint's own bookkeeping (this step's top-k save) as it was."""
        saved = self._last_global_step_saved
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        self._last_global_step_saved = saved

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        writes = self._last_writes
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        # The last batch of an epoch is left to the end-of-epoch saves: Lightning resumes a checkpoint written there
        # (inside on_train_batch_end of the last batch) into a wrong epoch count.
        due = self._every_n_train_steps >= 1 and trainer.global_step % self._every_n_train_steps == 0
        last_batch = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        if due and not last_batch and self._fitting(trainer) and self._last_writes == writes:
            self._write_last(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The epoch's training is complete (its last batch, step schedulers and counters): the state a validation
        # that fails would otherwise take with it. Resuming from it skips the validation, as from any last.ckpt.
        epoch_end = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        if self.save_last_before_validation and epoch_end and self._fitting(trainer):
            self._write_last(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writes = self._last_writes
        super().on_validation_end(trainer, pl_module)
        # When ModelCheckpoint saves at the end of the training epoch instead, last.ckpt is refreshed there.
        if self._fitting(trainer) and self._last_writes == writes and not self._should_save_on_train_epoch_end(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writes = self._last_writes
        super().on_train_epoch_end(trainer, pl_module)
        # After a validation ModelCheckpoint may have left it out; without one, the epoch may not have written it yet.
        due = self._should_save_on_train_epoch_end(trainer) or self._last_written_step != trainer.global_step
        if self._fitting(trainer) and self._last_writes == writes and due:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
