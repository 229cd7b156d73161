"""Saving hyperparameters of modules that take other ``nn.Module`` objects as arguments."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters


def save_config(module: L.LightningModule, module_args: Sequence[str], frame_depth: int = 1) -> None:
    """``save_hyperparameters`` that keeps checkpoints free of pickled networks.

    Under LightningCLI the hyperparameters are the YAML config (``class_path`` + ``init_args`` of the generator
    and loss), so ``load_from_checkpoint`` can rebuild everything: keep them all. Outside the CLI the
    ``nn.Module`` arguments are objects whose weights are already in the ``state_dict``: leave them out, and
    pass them again to ``load_from_checkpoint``.
    """
    import inspect

    frame = inspect.currentframe()
    for _ in range(frame_depth):
        assert frame is not None
        frame = frame.f_back
    under_cli = _given_hyperparameters.get() is not None
    module.save_hyperparameters(ignore=None if under_cli else list(module_args), frame=frame)
