"""Attention layers for the residual blocks: channel attention (SE/RCAN) and multi-scale attention (EDSR-MSA).

``ChannelAttention`` is the squeeze-and-excitation gate of Hu et al. (CVPR 2018) in the 1x1-conv form of RCAN
(Zhang et al., ECCV 2018); Dwivedi et al. (SE-SRResNet) and Wu (the attention SRGAN generator) put it at the end of
each residual branch. ``MultiScaleAttention`` is the attention of Tyagi's thesis (EDSR-MSA): parallel convolutions
of several kernel sizes, fused into one sigmoid map that reweights every channel at every pixel.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sr_lightning.models.blocks import default_conv

__all__ = ["ChannelAttention", "MultiScaleAttention"]


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention: ``x * sigmoid(W2 relu(W1 avgpool(x))))``.

    Args:
        n_feats: channels of the input features.
        reduction: channel reduction of the bottleneck; it has ``max(1, n_feats // reduction)`` channels.

    Raises:
        ValueError: if ``reduction`` is not positive.

    Example:
        >>> import torch
        >>> ca = ChannelAttention(n_feats=32, reduction=16)
        >>> x = torch.rand(2, 32, 5, 7)
        >>> ca.gate(x).shape
        torch.Size([2, 32, 1, 1])
        >>> ca(x).shape
        torch.Size([2, 32, 5, 7])
    """

    def __init__(self, n_feats: int, reduction: int = 16) -> None:
        super().__init__()
        if reduction <= 0:
            raise ValueError(f"reduction={reduction!r} must be a positive integer (16 in SE-Net and RCAN).")
        hidden = max(1, n_feats // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Sequential(
            nn.Conv2d(n_feats, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, n_feats, 1),
            nn.Sigmoid(),
        )

    def gate(self, x: Tensor) -> Tensor:
        """The per-channel weights in (0, 1), shape (B, C, 1, 1)."""
        return self.excite(self.pool(x))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


class MultiScaleAttention(nn.Module):
    """Multi-scale spatial and channel attention, the attention of EDSR-MSA (Tyagi's thesis).

    One 'same'-padded conv + ReLU branch per kernel size maps the features to
    ``max(1, n_feats // reduction)`` channels; the branches are concatenated, fused back to ``n_feats`` channels by
    a 1x1 conv and squashed by a sigmoid into a (B, C, H, W) map that multiplies the input. The map at a pixel
    depends on the input within ``max(kernel_sizes) // 2`` pixels of it.

    Args:
        n_feats: channels of the input features.
        kernel_sizes: one branch per kernel size; each must be a positive odd integer.
        reduction: channel reduction of every branch.

    Raises:
        ValueError: if ``kernel_sizes`` is empty or holds an even or non-positive size, or ``reduction`` is not
            positive.

    Example:
        >>> import torch
        >>> msa = MultiScaleAttention(n_feats=8, kernel_sizes=(3, 5), reduction=4)
        >>> x = torch.rand(1, 8, 6, 9)
        >>> msa.attention_map(x).shape
        torch.Size([1, 8, 6, 9])
        >>> bool(torch.allclose(msa(x), x * msa.attention_map(x)))
        True
    """

    def __init__(self, n_feats: int, kernel_sizes: tuple[int, ...] = (3, 5, 7), reduction: int = 4) -> None:
        super().__init__()
        kernel_sizes = tuple(kernel_sizes)
        if not kernel_sizes:
            raise ValueError(f"kernel_sizes={kernel_sizes!r} is empty; give at least one odd kernel size.")
        for k in kernel_sizes:
            if k <= 0 or k % 2 == 0:
                raise ValueError(
                    f"kernel size {k!r} in kernel_sizes={kernel_sizes!r} must be a positive odd integer "
                    "('same' padding needs an odd kernel)."
                )
        if reduction <= 0:
            raise ValueError(f"reduction={reduction!r} must be a positive integer.")
        self.kernel_sizes = kernel_sizes
        hidden = max(1, n_feats // reduction)
        self.branches = nn.ModuleList(
            [nn.Sequential(default_conv(n_feats, hidden, k), nn.ReLU()) for k in kernel_sizes]
        )
        self.fuse = nn.Conv2d(hidden * len(kernel_sizes), n_feats, 1)

    def attention_map(self, x: Tensor) -> Tensor:
        """The attention map in (0, 1), the same shape as ``x``."""
        feats: list[Tensor] = []
        for branch in self.branches:
            feats.append(branch(x))
        return self.fuse(torch.cat(feats, dim=1)).sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.attention_map(x)
