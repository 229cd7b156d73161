"""Shared fixtures for the loss tests: a small textured HR batch and two noisier copies of it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor


def _textured(size: int = 32, batch: int = 2, seed: int = 0) -> Tensor:
    """Smooth colour patterns plus a little noise, in [0.1, 0.9]: real enough for SSIM and VGG, tiny for the CPU."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    phase = torch.rand(batch, 3, 1, 1, generator=g) * 6.28
    img = 0.5 + 0.3 * torch.sin(xx / 3.0 + phase) * torch.cos(yy / 4.0 + phase)
    return (img + 0.1 * torch.rand(batch, 3, size, size, generator=g)).clamp(0.1, 0.9)


@pytest.fixture
def textured() -> Callable[..., Tensor]:
    """``textured(size=32, batch=2, seed=0)``: a (batch, 3, size, size) textured image batch in [0.1, 0.9]."""
    return _textured


@pytest.fixture
def ladder() -> tuple[Tensor, Tensor, Tensor]:
    """``(hr, hr + 0.05 * noise, hr + 0.2 * noise)`` clamped to [0, 1]: every loss must grow along it."""
    hr = _textured()
    noise = torch.randn(hr.shape, generator=torch.Generator().manual_seed(1))
    return hr, (hr + 0.05 * noise).clamp(0, 1), (hr + 0.2 * noise).clamp(0, 1)
