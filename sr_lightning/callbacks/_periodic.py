"""When the periodic callbacks score or draw, in one place, and the frame of the metric callbacks built on it.

Every callback with an ``every_n_epochs`` argument (:class:`~sr_lightning.callbacks.SRMetrics`,
:class:`~sr_lightning.callbacks.FIDKIDMetrics`, :class:`~sr_lightning.callbacks.LPIPSMonitor`,
:class:`~sr_lightning.callbacks.ImagePanel`, :class:`~sr_lightning.callbacks.BestWorstImages`,
:class:`~sr_lightning.callbacks.GradCAMImages`) checks it with :func:`check_every_n_epochs` and asks :func:`is_due`
at the start of each evaluation, so the argument means the same everywhere: the validations of the epochs whose
1-based number is a multiple of ``every_n_epochs`` (the count ``Trainer(check_val_every_n_epoch=...)`` and
``ModelCheckpoint(every_n_epochs=...)`` use), every ``trainer.validate`` and ``trainer.test``, never the sanity check.

:class:`PeriodicEvaluation` holds the validation/test hooks of the callbacks that score (:class:`SRMetrics` and the
frame below). :class:`_PeriodicSRMetrics` is the frame of the metrics that score SR outputs against HR images
(FID/KID, LPIPS): a subclass says how to update its metrics from one batch, compute them and reset them; the frame
decides when, resets at the start of every evaluation epoch so a value only ever uses that epoch's images, and logs
``<stage>/<name>``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn
from torch import Tensor

from sr_lightning.callbacks._outputs import unpack_images


def check_every_n_epochs(owner: str, every_n_epochs: Any) -> int:
    """``every_n_epochs`` if it is an integer >= 1, else a ``ValueError`` that names ``owner``."""
    if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) or every_n_epochs < 1:
        raise ValueError(f"{owner} every_n_epochs must be an integer >= 1, got {every_n_epochs!r}.")
    return every_n_epochs


def is_due(trainer: L.Trainer, every_n_epochs: int) -> bool:
    """Whether a periodic callback scores or draws in this evaluation: in a fit, the validations of epochs whose
    1-based number is a multiple of ``every_n_epochs`` (as ``Trainer(check_val_every_n_epoch=...)`` counts); every
    ``trainer.validate`` and ``trainer.test``; never the sanity check.

    Call it when the evaluation epoch starts (or at any hook of it: the answer does not change within one)."""
    if trainer.sanity_checking:
        return False
    if trainer.state.fn != TrainerFn.FITTING:
        return True
    return (trainer.current_epoch + 1) % every_n_epochs == 0


class PeriodicEvaluation(Callback):
    """The validation and test hooks of a callback that scores only the evaluations :func:`is_due` picks.

    A subclass says how to start a stage's epoch (forget what an interrupted one left), score one batch of the
    evaluation step's outputs and finish the epoch (compute and log); this frame calls them for the scored epochs
    only, for ``val`` and ``test`` alike.
    """

    def __init__(self, every_n_epochs: int) -> None:
        super().__init__()
        self.every_n_epochs = check_every_n_epochs(type(self).__name__, every_n_epochs)
        self._active: dict[str, bool] = {}  # by stage: whether this evaluation epoch is scored

    def _start_epoch(self, stage: str) -> None:
        raise NotImplementedError

    def _score_batch(self, stage: str, pl_module: L.LightningModule, outputs: Any) -> None:
        raise NotImplementedError

    def _finish_epoch(self, stage: str, pl_module: L.LightningModule) -> None:
        raise NotImplementedError

    def _epoch_start(self, trainer: L.Trainer, stage: str) -> None:
        self._start_epoch(stage)  # an interrupted epoch must not leak into this one
        self._active[stage] = is_due(trainer, self.every_n_epochs)

    def _batch_end(self, stage: str, pl_module: L.LightningModule, outputs: Any) -> None:
        if self._active.get(stage, False):
            self._score_batch(stage, pl_module, outputs)

    def _epoch_end(self, stage: str, pl_module: L.LightningModule) -> None:
        if self._active.pop(stage, False):
            self._finish_epoch(stage, pl_module)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start(trainer, "val")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._batch_end("val", pl_module, outputs)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_end("val", pl_module)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start(trainer, "test")

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._batch_end("test", pl_module, outputs)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_end("test", pl_module)


class _PeriodicSRMetrics(PeriodicEvaluation):
    def _update(self, pl_module: L.LightningModule, sr: Tensor, hr: Tensor) -> None:
        """Add one batch of SR outputs and HR references, (B, 3, H, W)."""
        raise NotImplementedError

    def _compute(self) -> dict[str, Tensor]:
        """The values by name (without the stage) of everything added since the last reset; ``{}`` if nothing was."""
        raise NotImplementedError

    def _reset(self) -> None:
        raise NotImplementedError

    def _start_epoch(self, stage: str) -> None:
        self._reset()

    def _score_batch(self, stage: str, pl_module: L.LightningModule, outputs: Any) -> None:
        _, sr, hr = unpack_images(outputs, f"{type(self).__name__} ({stage})")
        self._update(pl_module, sr, hr)

    def _finish_epoch(self, stage: str, pl_module: L.LightningModule) -> None:
        try:
            values = self._compute()
        finally:
            self._reset()
        for name, value in values.items():
            # torchmetrics synchronised the metric states across processes inside compute(), so every rank holds the
            # value of the whole set already: sync_dist only averages equal numbers (one scalar all-reduce). It is on
            # because without it Lightning warns under DDP that epoch-level values should be synced.
            pl_module.log(f"{stage}/{name}", value, sync_dist=True)
