"""``LPIPS``: the learned perceptual distance as a torchmetrics ``Metric``, averaged per image (lower is better).

It scores with the very network of :class:`~sr_lightning.losses.LPIPSLoss` (same backbones, same calibrated linear
layers, same weights from the torch hub cache), so the metric and the loss term of Dwivedi et al.'s hybrid loss are the
same number. It keeps a per-image sum and count, so it averages correctly over batches of any size and synchronises
across DDP processes.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor
from torchmetrics import Metric

from sr_lightning.losses.perceptual import LPIPSLoss

__all__ = ["LPIPS"]


class LPIPS(Metric):
    """Mean per-image LPIPS distance (Zhang et al. 2018) between SR and HR images in ``[0, 1]``; lower is better.

    Images are mapped to the ``[-1, 1]`` range that the ``lpips`` package expects inside. The network is frozen and
    always in eval mode. With ``pretrained=True`` its weights are left out of the ``state_dict`` and reloaded from the
    torch hub cache (see :mod:`sr_lightning.losses.perceptual`); with ``pretrained=False`` the random backbone is
    part of the state.

    Args:
        net: the backbone: ``"alex"`` (the LPIPS authors' choice for a metric), ``"vgg"`` or ``"squeeze"``.
        pretrained: load the ImageNet backbone from the torch hub cache; ``False`` gives a random backbone (with the
            calibrated linear layers), for tests and smoke runs only: its values mean nothing.
        kwargs: torchmetrics ``Metric`` options (``sync_on_compute``, ``dist_sync_fn``...).

    Raises:
        ValueError: an unknown ``net``; in :meth:`update`, images that are not (B, 3, H, W) of the same shape.
        MissingWeightsError: ``pretrained=True`` and the backbone file is not cached and cannot be downloaded.

    Example:
        >>> import torch
        >>> metric = LPIPS(net="squeeze", pretrained=False)
        >>> hr = torch.rand(2, 3, 32, 32)
        >>> metric.update(hr, hr)
        >>> metric.compute().item()
        0.0
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    total: Tensor
    count: Tensor

    def __init__(self, net: Literal["alex", "vgg", "squeeze"] = "alex", pretrained: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.net = net
        self.pretrained = pretrained
        self.distance = LPIPSLoss(net=net, pretrained=pretrained, reduction="none")
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, sr: Tensor, hr: Tensor) -> None:
        """Add a batch of SR images and their HR references, (B, 3, H, W) in ``[0, 1]``."""
        if sr.ndim != 4 or sr.shape[1] != 3 or sr.shape != hr.shape:
            raise ValueError(
                f"LPIPS needs SR and HR batches of the same shape (B, 3, H, W), got {tuple(sr.shape)} and "
                f"{tuple(hr.shape)}."
            )
        values = self.distance(sr, hr)
        self.total += values.sum().to(self.total)
        self.count += values.numel()

    def compute(self) -> Tensor:
        """The mean LPIPS over every image seen since the last reset (on every process, under DDP)."""
        if self.count == 0:
            raise RuntimeError("LPIPS.compute() was called before any update().")
        return (self.total / self.count).float()
