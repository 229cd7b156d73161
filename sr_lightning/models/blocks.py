"""Layers shared by the generators: mean shift, residual blocks, pixel-shuffle upsamplers and per-scale tails."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import Tensor, nn

__all__ = ["MeanShift", "ResidualBlock", "ScaleTails", "Upsampler", "check_scale", "default_conv"]

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def default_conv(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
    """A 'same'-padded convolution, the building brick of every generator."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


def check_scale(scale: int, supported: tuple[int, ...] = (2, 3, 4)) -> int:
    """Return ``scale`` if the pixel-shuffle upsampler supports it, else raise a ValueError naming it."""
    if scale not in supported:
        raise ValueError(f"scale={scale!r} is not supported; choose one of {supported}.")
    return scale


class MeanShift(nn.Module):
    """Subtract (``sign=-1``) or add back (``sign=+1``) a per-channel RGB mean, as in EDSR.

    The mean is a buffer, so it moves with the module and is saved in its ``state_dict``.
    """

    def __init__(self, rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN, sign: int = -1) -> None:
        super().__init__()
        self.sign = sign
        self.register_buffer("mean", torch.tensor(rgb_mean, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.sign * self.mean.to(x.dtype)


class ResidualBlock(nn.Module):
    """``x + res_scale * conv(act(conv(x)))``, optionally with a normalization after each conv.

    With ``norm_layer=None`` and ``act_layer=nn.ReLU`` this is EDSR's block (BasicSR's ``ResidualBlockNoBN``);
    with ``nn.BatchNorm2d`` and ``nn.PReLU`` it is SRResNet's original block.
    """

    def __init__(
        self,
        n_feats: int = 64,
        kernel_size: int = 3,
        res_scale: float = 1.0,
        act_layer: type[nn.Module] = nn.ReLU,
        norm_layer: type[nn.Module] | None = None,
    ) -> None:
        super().__init__()
        bias = norm_layer is None
        layers: list[nn.Module] = [default_conv(n_feats, n_feats, kernel_size, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(n_feats))
        layers.append(act_layer())
        layers.append(default_conv(n_feats, n_feats, kernel_size, bias=bias))
        if norm_layer is not None:
            layers.append(norm_layer(n_feats))
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x) * self.res_scale


class Upsampler(nn.Sequential):
    """Sub-pixel upsampling: per x2 step (or one x3 step) a conv to ``r**2`` times the channels, then
    ``PixelShuffle(r)`` and an optional activation (SRResNet uses PReLU, EDSR none)."""

    def __init__(self, scale: int, n_feats: int, act_layer: type[nn.Module] | None = None) -> None:
        check_scale(scale)
        steps = [3] if scale == 3 else [2] * int(math.log2(scale))
        layers: list[nn.Module] = []
        for r in steps:
            layers += [default_conv(n_feats, r * r * n_feats, 3), nn.PixelShuffle(r)]
            if act_layer is not None:
                layers.append(act_layer())
        super().__init__(*layers)


class ScaleTails(nn.Module):
    """One upsampler + output conv per scale, so that a single body serves several scales.

    Tyagi's EDSR-MSA trains x2 first, then x4, keeping the body's weights: the body is shared and each scale
    has its own tail, stored in ``tails[str(scale)]`` as ``upsampler`` (an ``Upsampler``) then ``conv``.

    Args:
        scales: the scales to build a tail for, each 2, 3 or 4; duplicates are dropped.
        n_feats: channels of the body's features.
        act_layer: activation after each pixel shuffle (None for EDSR, ``nn.PReLU`` for SRResNet).
        out_kernel_size: kernel of the conv that maps the features to RGB.

    Raises:
        ValueError: if ``scales`` is empty or holds an unsupported scale.

    Example:
        >>> import torch
        >>> tails = ScaleTails(scales=(2, 4), n_feats=8)
        >>> tails(torch.rand(1, 8, 5, 6), scale=4).shape
        torch.Size([1, 3, 20, 24])
    """

    def __init__(
        self,
        scales: tuple[int, ...],
        n_feats: int,
        act_layer: type[nn.Module] | None = None,
        out_kernel_size: int = 3,
    ) -> None:
        super().__init__()
        scales = tuple(dict.fromkeys(scales))
        if not scales:
            raise ValueError(f"scales={scales!r} is empty; give at least one of (2, 3, 4).")
        for s in scales:
            check_scale(s)
        self.scales = scales
        self.tails = nn.ModuleDict(
            {
                str(s): nn.Sequential(
                    OrderedDict(
                        upsampler=Upsampler(s, n_feats, act_layer=act_layer),
                        conv=default_conv(n_feats, 3, out_kernel_size),
                    )
                )
                for s in scales
            }
        )

    def forward(self, x: Tensor, scale: int) -> Tensor:
        key = str(scale)
        for name, tail in self.tails.items():  # a loop, not tails[key], so that TorchScript compiles it
            if name == key:
                return tail(x)
        raise ValueError(f"scale={scale} has no tail here; the available scales are {self.scales}.")
