"""``ElapsedTime``: log the training wall time, so curves can be drawn against time as well as steps."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

__all__ = ["ElapsedTime"]


class ElapsedTime(Callback):
    """Log ``time/elapsed_s``: seconds of ``fit`` so far, at the end of every training and validation epoch, and
    ``time/cpu_s``: the CPU seconds this process used meanwhile (all its threads), which a machine shared with other
    work inflates less than the wall time.

    The clock runs from the start of ``fit`` (set-up, sanity check and validation included: the time a user waits)
    and is saved in checkpoints, so a resumed run continues from the interrupted run's figure rather than from 0.
    ``sr-lightning compare`` and the recipes' PSNR-vs-time curves read it from ``metrics.csv``.

    Example:
        >>> ElapsedTime().state_dict()
        {'elapsed_s': 0.0, 'cpu_s': 0.0}
    """

    def __init__(self) -> None:
        super().__init__()
        self._before = 0.0  # seconds of earlier (resumed) runs
        self._cpu_before = 0.0
        self._start: float | None = None
        self._cpu_start = 0.0

    @property
    def elapsed_s(self) -> float:
        """Seconds of ``fit`` so far, earlier runs of a resumed training included."""
        running = 0.0 if self._start is None else time.perf_counter() - self._start
        return self._before + running

    @property
    def cpu_s(self) -> float:
        """CPU seconds of this process during ``fit`` so far, earlier runs of a resumed training included."""
        running = 0.0 if self._start is None else time.process_time() - self._cpu_start
        return self._cpu_before + running

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._before, self._cpu_before, self._start = self.elapsed_s, self.cpu_s, None

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            pl_module.log("time/elapsed_s", self.elapsed_s, on_step=False, on_epoch=True, batch_size=1)
            pl_module.log("time/cpu_s", self.cpu_s, on_step=False, on_epoch=True, batch_size=1)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_s": self.elapsed_s, "cpu_s": self.cpu_s}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._before = float(state_dict.get("elapsed_s", 0.0))
        self._cpu_before = float(state_dict.get("cpu_s", 0.0))
