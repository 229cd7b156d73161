"""An exponential moving average of a network's weights (pure torch), the weights validation and inference use."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

__all__ = ["ModelEMA"]


class ModelEMA(nn.Module):
    """A frozen copy of ``model`` whose parameters follow ``ema = decay * ema + (1 - decay) * param``.

    Buffers (BatchNorm statistics, mean shifts) are copied as they are. The copy is a submodule, so it moves with
    the LightningModule, is saved in its checkpoints, and is synchronised by DDP like any other weight. BasicSR and
    ESRGAN-style training use ``decay=0.999``.

    Args:
        model: the network to average; it is deep-copied once, at construction.
        decay: weight of the running average, in [0, 1).

    Raises:
        ValueError: ``decay`` outside [0, 1).

    Example:
        >>> net = nn.Linear(1, 1, bias=False)
        >>> _ = nn.init.zeros_(net.weight)
        >>> ema = ModelEMA(net, decay=0.5)
        >>> _ = nn.init.ones_(net.weight)
        >>> ema.update(net)
        >>> ema.module.weight.item()
        0.5
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay!r}.")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step towards ``model``'s current weights."""
        averaged = dict(self.module.named_parameters())
        for name, param in model.named_parameters():
            averaged[name].lerp_(param.detach().to(averaged[name].dtype), 1.0 - self.decay)
        averaged_buffers = dict(self.module.named_buffers())
        for name, buffer in model.named_buffers():
            averaged_buffers[name].copy_(buffer)
        self.num_updates += 1

    def train(self, mode: bool = True) -> ModelEMA:
        """The average is never in training mode (its BatchNorm layers use their running statistics)."""
        super().train(mode)
        self.module.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.module(x)
