"""The evaluation protocol of the super-resolution literature, as pure functions.

Images are float tensors in [0, 1]. Each function quantizes them to 8 bits first (the published tables are
computed on saved PNGs), optionally converts to the Y channel of ITU-R BT.601 exactly as MATLAB's ``rgb2ycbcr``,
crops ``border`` pixels from every side (the convention is ``border = scale``), and scores each image.
SSIM is Wang et al.'s MATLAB ``ssim_index``: an 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03,
L = 255, 'valid' filtering, averaged over the map; for RGB the three channels' SSIMs are averaged.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["psnr", "psnr_y", "quantize", "rgb_to_y", "ssim", "ssim_y"]

Reduction = Literal["mean", "none"]
_Y_WEIGHTS = (65.481, 128.553, 24.966)


def quantize(img: Tensor) -> Tensor:
    """Round a [0, 1] image to 8-bit levels, returned as float64 values in 0..255."""
    return (img.detach().double().clamp(0, 1) * 255).round()


def rgb_to_y(img255: Tensor) -> Tensor:
    """Y of ITU-R BT.601 (MATLAB ``rgb2ycbcr``) from RGB values in 0..255: (B, 3, H, W) -> (B, 1, H, W), 16..235."""
    if img255.shape[-3] != 3:
        raise ValueError(f"rgb_to_y needs 3 RGB channels, got shape {tuple(img255.shape)}.")
    weights = img255.new_tensor(_Y_WEIGHTS).view(1, 3, 1, 1)
    return 16.0 + (img255 * weights).sum(dim=-3, keepdim=True) / 255.0


def _prepare(sr: Tensor, hr: Tensor, border: int, y_channel: bool) -> tuple[Tensor, Tensor]:
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr must have the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}.")
    if sr.dim() == 3:
        sr, hr = sr.unsqueeze(0), hr.unsqueeze(0)
    if sr.dim() != 4:
        raise ValueError(f"expected (C, H, W) or (B, C, H, W) images, got shape {tuple(sr.shape)}.")
    if border < 0 or 2 * border >= min(sr.shape[-2:]):
        raise ValueError(f"border={border} leaves nothing of an image of size {tuple(sr.shape[-2:])}.")
    sr, hr = quantize(sr), quantize(hr)
    if y_channel:
        sr, hr = rgb_to_y(sr), rgb_to_y(hr)
    if border:
        sr = sr[..., border:-border, border:-border]
        hr = hr[..., border:-border, border:-border]
    return sr, hr


def _reduce(values: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}.")


def psnr(sr: Tensor, hr: Tensor, border: int = 0, y_channel: bool = False, reduction: Reduction = "mean") -> Tensor:
    """PSNR in dB on 8-bit levels, per image, then averaged (``reduction="mean"``) or not (``"none"``).

    Example:
        >>> import torch
        >>> hr = torch.full((1, 3, 8, 8), 100 / 255)
        >>> round(psnr(hr + 1 / 255, hr).item(), 2)
        48.13
    """
    sr, hr = _prepare(sr, hr, border, y_channel)
    mse = (sr - hr).pow(2).flatten(1).mean(dim=1)
    return _reduce(10 * torch.log10(255.0**2 / mse), reduction)


def _gaussian_1d(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64) -> Tensor:
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _gaussian_blur_valid(x: Tensor, size: int = 11, sigma: float = 1.5) -> Tensor:
    """'valid' filtering of every (B, C, H, W) plane with the Gaussian window, as two 1-D passes.

    The 2-D window is the outer product of the 1-D one, so the two passes give the same values (in float64 to
    about 1e-15 of the 2-D convolution) at 22 instead of 121 multiply-adds per pixel.
    """
    b, c, h, w = x.shape
    g = _gaussian_1d(size, sigma, x.dtype).to(x.device)
    planes = x.reshape(b * c, 1, h, w)
    planes = F.conv2d(planes, g.view(1, 1, size, 1))
    planes = F.conv2d(planes, g.view(1, 1, 1, size))
    return planes.reshape(b, c, h - size + 1, w - size + 1)


def ssim(sr: Tensor, hr: Tensor, border: int = 0, y_channel: bool = False, reduction: Reduction = "mean") -> Tensor:
    """MATLAB-style SSIM on 8-bit levels, per image (channels averaged), then averaged or not.

    Example:
        >>> import torch
        >>> hr = torch.rand(1, 3, 32, 32)
        >>> ssim(hr, hr).item()
        1.0
    """
    sr, hr = _prepare(sr, hr, border, y_channel)
    if min(sr.shape[-2:]) < 11:
        raise ValueError(
            f"SSIM needs at least 11x11 pixels after cropping border={border}, got {tuple(sr.shape[-2:])}."
        )
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    # One blur of the five planes together: the means, the second moments and the cross moment.
    stacked = torch.stack([sr, hr, sr * sr, hr * hr, sr * hr])
    mu_x, mu_y, xx, yy, xy = _gaussian_blur_valid(stacked.flatten(0, 1)).unflatten(0, (5, sr.shape[0]))
    var_x = xx - mu_x**2
    var_y = yy - mu_y**2
    cov = xy - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return _reduce(ssim_map.flatten(1).mean(dim=1), reduction)


def psnr_y(sr: Tensor, hr: Tensor, border: int = 0, reduction: Reduction = "mean") -> Tensor:
    """PSNR on the Y channel (the paper protocol with ``border = scale``)."""
    return psnr(sr, hr, border=border, y_channel=True, reduction=reduction)


def ssim_y(sr: Tensor, hr: Tensor, border: int = 0, reduction: Reduction = "mean") -> Tensor:
    """SSIM on the Y channel (the paper protocol with ``border = scale``)."""
    return ssim(sr, hr, border=border, y_channel=True, reduction=reduction)
