"""torchmetrics ``Metric`` classes for the super-resolution protocol (PSNR and SSIM, RGB or Y, border crop).

torchmetrics' own PSNR/SSIM score the float images as given; the published tables quantize to 8 bits, use the
BT.601 Y channel, crop ``scale`` pixels of border and average per image. These classes do exactly that on top of
:mod:`sr_lightning.metrics.functional` and keep a per-image sum and count, so they average correctly over
batches of any size and synchronise across DDP processes.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric

from sr_lightning.metrics import functional

__all__ = ["PSNR", "SSIM"]


class _PerImageMean(Metric):
    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, border: int = 0, y_channel: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if border < 0:
            raise ValueError(f"border must be >= 0, got {border}.")
        self.border = border
        self.y_channel = y_channel
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def scores(self, sr: Tensor, hr: Tensor) -> Tensor:
        """The per-image values of a batch (B, 3, H, W) in [0, 1], float64, without adding them."""
        raise NotImplementedError

    def update(self, sr: Tensor | None = None, hr: Tensor | None = None, *, scores: Tensor | None = None) -> None:
        """Add a batch of images (B, 3, H, W) in [0, 1], or the per-image ``scores`` of one, computed earlier by
        :meth:`scores` (the kept scores of a fixed baseline, for example)."""
        if scores is None:
            if sr is None or hr is None:
                raise ValueError(f"{type(self).__name__}.update needs sr and hr, or scores.")
            scores = self.scores(sr, hr)
        self.total += scores.double().sum().to(self.total.device)
        self.count += scores.numel()

    def compute(self) -> Tensor:
        if self.count == 0:
            raise RuntimeError(f"{type(self).__name__}.compute() was called before any update().")
        return (self.total / self.count).float()


class PSNR(_PerImageMean):
    """Mean per-image PSNR (dB) on 8-bit levels, RGB or Y channel, ``border`` pixels cropped.

    Example:
        >>> import torch
        >>> metric = PSNR(border=2, y_channel=True)
        >>> hr = torch.full((2, 3, 16, 16), 100 / 255)
        >>> metric.update(hr + 1 / 255, hr)
        >>> round(metric.compute().item(), 2)
        49.45
    """

    def scores(self, sr: Tensor, hr: Tensor) -> Tensor:
        return functional.psnr(sr, hr, border=self.border, y_channel=self.y_channel, reduction="none")


class SSIM(_PerImageMean):
    """Mean per-image MATLAB-style SSIM on 8-bit levels, RGB or Y channel, ``border`` pixels cropped."""

    def scores(self, sr: Tensor, hr: Tensor) -> Tensor:
        return functional.ssim(sr, hr, border=self.border, y_channel=self.y_channel, reduction="none")
