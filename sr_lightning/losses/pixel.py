"""Pixel losses. L1 and MSE are torch's own (``nn.L1Loss``, ``nn.MSELoss``); Charbonnier is added here."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["CharbonnierLoss"]


class CharbonnierLoss(nn.Module):
    """``sqrt((x - y)^2 + eps^2)``, a differentiable L1 (Lai et al., LapSRN; Dwivedi et al.'s hybrid loss).

    Args:
        eps: the smoothing constant; the loss of two equal images is ``eps``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import torch
        >>> CharbonnierLoss(eps=1e-3)(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)).item()
        0.001...
    """

    def __init__(self, eps: float = 1e-3, reduction: Literal["mean", "sum", "none"] = "mean") -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"CharbonnierLoss eps must be positive, got {eps}.")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
        self.eps = eps
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        loss = torch.sqrt((input - target) ** 2 + self.eps**2)
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss

    def extra_repr(self) -> str:
        return f"eps={self.eps}, reduction={self.reduction!r}"
