"""``LPIPSMonitor``: the mean per-image LPIPS distance of validation and test outputs, every N epochs.

It is the callback; :class:`~sr_lightning.metrics.LPIPS` is the torchmetrics ``Metric`` it runs and
:class:`~sr_lightning.losses.LPIPSLoss` the training loss. ``LPIPSMetric`` is the callback's old, deprecated name.
"""

from __future__ import annotations

import warnings
from typing import Literal, get_args

import lightning as L
from torch import Tensor

from sr_lightning.callbacks._periodic import _PeriodicSRMetrics
from sr_lightning.metrics.lpips import LPIPS

__all__ = ["LPIPSMetric", "LPIPSMonitor"]

_Net = Literal["alex", "vgg", "squeeze"]


class LPIPSMonitor(_PeriodicSRMetrics):
    """Log the mean per-image LPIPS between SR outputs and HR images as ``<stage>/lpips_<net>`` (lower is better).

    ``val/lpips_alex`` and ``test/lpips_alex`` by default: the backbone is in the name, as LPIPS values of different
    backbones do not compare. Validation is scored on every ``every_n_epochs``-th epoch (not the sanity check),
    ``trainer.validate`` and ``trainer.test`` every time; each value uses only that epoch's images. SR outputs are
    clamped to ``[0, 1]``. The metric (:class:`~sr_lightning.metrics.LPIPS`) runs on the module's device and sums
    per-image values, which torchmetrics adds up across DDP processes before the mean is logged.

    Args:
        net: the LPIPS backbone, ``"alex"``, ``"vgg"`` or ``"squeeze"``.
        pretrained: load the backbone from the torch hub cache; ``False`` gives random weights (tests only).
        every_n_epochs: score every this many validation epochs.

    Raises:
        ValueError: an unknown ``net`` or ``every_n_epochs`` below 1.
        MissingWeightsError: at ``setup`` (before training starts), ``pretrained=True`` and the backbone weights are
            neither in the torch hub cache nor downloadable.
    """

    def __init__(self, net: _Net = "alex", pretrained: bool = True, every_n_epochs: int = 1) -> None:
        super().__init__(every_n_epochs)
        if net not in get_args(_Net):
            raise ValueError(f"{type(self).__name__} net must be one of {list(get_args(_Net))}, got {net!r}.")
        self.net = net
        self.pretrained = pretrained
        self._metric: LPIPS | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._lpips()  # loads the backbone now: missing weights stop the run before training, not after an epoch

    def _lpips(self) -> LPIPS:
        if self._metric is None:
            self._metric = LPIPS(net=self.net, pretrained=self.pretrained)
        return self._metric

    def _update(self, pl_module: L.LightningModule, sr: Tensor, hr: Tensor) -> None:
        metric = self._lpips()
        if metric.device != pl_module.device:  # the first batch, or the module moved
            metric.to(pl_module.device)
        metric.update(sr.clamp(0, 1), hr)

    def _compute(self) -> dict[str, Tensor]:
        if self._metric is None or not self._metric.update_called:
            return {}
        return {f"lpips_{self.net}": self._metric.compute()}

    def _reset(self) -> None:
        if self._metric is not None:
            self._metric.reset()


class LPIPSMetric(LPIPSMonitor):
    """Deprecated name of :class:`LPIPSMonitor` (it clashed with the :class:`~sr_lightning.metrics.LPIPS` metric and
    the :class:`~sr_lightning.losses.LPIPSLoss` loss); it will be removed in the next release.

    The same callback, arguments and logged values; constructing it warns with a ``DeprecationWarning``. In a config,
    replace ``class_path: sr_lightning.callbacks.LPIPSMetric`` with ``sr_lightning.callbacks.LPIPSMonitor``.
    """

    def __init__(self, net: _Net = "alex", pretrained: bool = True, every_n_epochs: int = 1) -> None:
        warnings.warn(
            "sr_lightning.callbacks.LPIPSMetric is deprecated and will be removed in the next release; use "
            "sr_lightning.callbacks.LPIPSMonitor (same arguments, same logged values).",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(net=net, pretrained=pretrained, every_n_epochs=every_n_epochs)
