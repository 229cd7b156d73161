"""Structural losses: ``1 - SSIM`` and ``1 - MS-SSIM``, computed with piq.

Dwivedi et al. uses ``L_SSIM = 1 - SSIM(I_SR, I_HR)`` in both its vanilla loss (MSE + 0.1 SSIM + 0.1 VGG) and its hybrid
loss (0.4 LPIPS + 0.3 SSIM + 0.2 Charbonnier + 0.1 edge).

piq rejects values outside ``[0, data_range]``, and a generator's raw output can overshoot ``[0, 1]``, so both losses
clamp their inputs to ``[0, 1]`` first. Clamping gives a zero gradient to the pixels outside ``[0, 1]``: the other
terms of the loss (pixel, perceptual) are the ones that pull them back, which is acceptable for a structural term.
Both compute in float32 with autocast off: the SSIM variances (``E[x^2] - E[x]^2``) are too imprecise in fp16.
"""

from __future__ import annotations

import piq
import torch
from torch import Tensor, nn

__all__ = ["MSSSIMLoss", "SSIMLoss"]

_MS_SSIM_SCALES = 5  # piq's default scale weights (Wang et al. 2003) have five entries


def _check_kernel(kernel_size: int, kernel_sigma: float) -> None:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size!r}.")
    if not kernel_sigma > 0:
        raise ValueError(f"kernel_sigma must be positive, got {kernel_sigma!r}.")


def _unit_float32(x: Tensor) -> Tensor:
    return x.float().clamp(0.0, 1.0)


class SSIMLoss(nn.Module):
    """``1 - SSIM(sr, hr)`` over RGB images in ``[0, 1]`` (Wang et al. 2004; the SSIM term of Dwivedi et al.'s losses).

    Inputs are clamped to ``[0, 1]`` (piq rejects anything else), which stops the gradient of out-of-range pixels.

    Args:
        kernel_size: side of the Gaussian window, odd.
        kernel_sigma: standard deviation of the Gaussian window.
        downsample: average-pool images whose shorter side is at least 384 first, as piq, skimage and TensorFlow do
            for evaluation; off by default so the loss sees every pixel.

    Raises:
        ValueError: ``kernel_size`` is even or not positive, ``kernel_sigma`` is not positive, or (when called) an
            image side is smaller than ``kernel_size``.

    Example:
        >>> import torch
        >>> hr = torch.rand(1, 3, 32, 32)
        >>> SSIMLoss()(hr, hr).abs().item() < 1e-6
        True
    """

    def __init__(self, kernel_size: int = 11, kernel_sigma: float = 1.5, downsample: bool = False) -> None:
        super().__init__()
        _check_kernel(kernel_size, kernel_sigma)
        self.kernel_size = kernel_size
        self.kernel_sigma = kernel_sigma
        self.downsample = downsample

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        if min(sr.shape[-2:]) < self.kernel_size:
            raise ValueError(
                f"SSIMLoss with kernel_size={self.kernel_size} needs images of at least {self.kernel_size}x"
                f"{self.kernel_size} pixels, got {tuple(sr.shape[-2:])}."
            )
        with torch.autocast(device_type=sr.device.type, enabled=False):
            score = piq.ssim(
                _unit_float32(sr),
                _unit_float32(hr),
                kernel_size=self.kernel_size,
                kernel_sigma=self.kernel_sigma,
                data_range=1.0,
                downsample=self.downsample,
            )
        return 1.0 - score

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, kernel_sigma={self.kernel_sigma}, downsample={self.downsample}"


class MSSSIMLoss(nn.Module):
    """``1 - MS-SSIM(sr, hr)`` over five scales (Wang, Simoncelli & Bovik 2003), for images in ``[0, 1]``.

    Inputs are clamped to ``[0, 1]`` as in :class:`SSIMLoss`. Five scales halve the image four times, so each side
    must be at least ``(kernel_size - 1) * 16 + 1`` pixels (161 for the default window): use it on large crops, or
    use :class:`SSIMLoss` on small training patches.

    Args:
        kernel_size: side of the Gaussian window, odd.
        kernel_sigma: standard deviation of the Gaussian window.

    Raises:
        ValueError: bad window arguments, or (when called) images too small for five scales; the message names the
            image size and the minimum.

    Example:
        >>> import torch
        >>> MSSSIMLoss(kernel_size=3).min_size
        33
        >>> hr = torch.rand(1, 3, 40, 40)
        >>> MSSSIMLoss(kernel_size=3)(hr, hr).abs().item() < 1e-5
        True
    """

    def __init__(self, kernel_size: int = 11, kernel_sigma: float = 1.5) -> None:
        super().__init__()
        _check_kernel(kernel_size, kernel_sigma)
        self.kernel_size = kernel_size
        self.kernel_sigma = kernel_sigma

    @property
    def min_size(self) -> int:
        """The smallest image side piq accepts for five scales with this window."""
        return (self.kernel_size - 1) * 2 ** (_MS_SSIM_SCALES - 1) + 1

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        height, width = sr.shape[-2:]
        if min(height, width) < self.min_size:
            raise ValueError(
                f"MSSSIMLoss needs images of at least {self.min_size}x{self.min_size} pixels for "
                f"{_MS_SSIM_SCALES} scales with kernel_size={self.kernel_size}, got {height}x{width}. "
                f"Use larger crops, a smaller kernel_size, or SSIMLoss."
            )
        with torch.autocast(device_type=sr.device.type, enabled=False):
            score = piq.multi_scale_ssim(
                _unit_float32(sr),
                _unit_float32(hr),
                kernel_size=self.kernel_size,
                kernel_sigma=self.kernel_sigma,
                data_range=1.0,
            )
        return 1.0 - score

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, kernel_sigma={self.kernel_sigma}"
