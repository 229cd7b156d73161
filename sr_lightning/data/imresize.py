"""MATLAB-compatible bicubic resizing (``imresize(img, scale, 'bicubic')``) in pure torch.

The published super-resolution tables are computed on low-resolution images made by MATLAB's ``imresize``:
a cubic convolution kernel with ``a = -0.5`` which, when shrinking, is stretched by ``1 / scale`` so that it
also low-pass filters (antialiasing), and symmetric padding at the borders. ``torch.nn.functional.interpolate``
uses ``a = -0.75`` and no kernel stretching, which is a different filter, so the protocol needs this one.

The resize is separable and linear, so each axis is a matrix product with a small (out x in) weight matrix that
already folds in the border mirroring. That keeps it exact, differentiable and fast on CPU and GPU.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

__all__ = ["imresize"]


def _cubic(x: Tensor) -> Tensor:
    """Keys' cubic convolution kernel with ``a = -0.5`` (MATLAB's ``cubic``)."""
    absx = x.abs()
    absx2 = absx**2
    absx3 = absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2))
    return near + far


@lru_cache(maxsize=256)
def _resize_matrix(in_length: int, out_length: int, scale: float, antialiasing: bool) -> Tensor:
    """The (out_length, in_length) matrix that resizes one axis like MATLAB ``imresize``.

    Follows MATLAB's ``contributions``: output pixel ``x`` (1-based) maps to input coordinate
    ``u = x / scale + 0.5 * (1 - 1 / scale)``; when shrinking with antialiasing the kernel becomes
    ``scale * cubic(scale * t)`` with width ``4 / scale``; out-of-range taps are mirrored (symmetric padding).
    Cached: training draws the same patch size again and again. Callers must not modify the result in place.
    """
    kernel_width = 4.0
    stretch = antialiasing and scale < 1
    if stretch:
        kernel_width /= scale
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left.unsqueeze(1) + torch.arange(taps, dtype=torch.float64).unsqueeze(0)
    distance = u.unsqueeze(1) - indices
    weights = scale * _cubic(distance * scale) if stretch else _cubic(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Symmetric padding: index sequence 1..n, n..1 repeated (MATLAB's aux array).
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)])
    source = mirror[torch.remainder(indices.long() - 1, 2 * in_length)]
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    matrix.scatter_add_(1, source, weights)
    return matrix


def imresize(
    img: Tensor,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialiasing: bool = True,
) -> Tensor:
    """Resize images with MATLAB's bicubic ``imresize``.

    Args:
        img: float tensor of shape (C, H, W) or (B, C, H, W), values usually in [0, 1]. Integer tensors
            are rejected: convert to float first so that no rounding happens silently.
        scale: the factor for both axes; ``scale < 1`` shrinks (``1 / 4`` makes a x4 low-resolution image).
            The output size is ``ceil(H * scale), ceil(W * scale)``, as in MATLAB.
        size: the output (height, width) instead of ``scale``.
        antialiasing: stretch the kernel when shrinking (MATLAB's default). Has no effect when enlarging.

    Returns:
        The resized tensor, same dtype and device, not clamped (bicubic overshoots slightly; clamp or
        quantize as the use requires).

    Raises:
        ValueError: if neither or both of ``scale`` and ``size`` are given, if they are not positive,
            or if ``img`` has the wrong rank or dtype.

    Example:
        >>> import torch
        >>> hr = torch.rand(3, 96, 96)
        >>> imresize(hr, 1 / 4).shape
        torch.Size([3, 24, 24])
        >>> imresize(torch.ones(1, 3, 8, 8), 2).allclose(torch.ones(1, 3, 16, 16))
        True
    """
    if (scale is None) == (size is None):
        raise ValueError("imresize needs exactly one of `scale` or `size`.")
    if img.dim() not in (3, 4):
        raise ValueError(f"imresize expects (C, H, W) or (B, C, H, W), got shape {tuple(img.shape)}.")
    if not img.is_floating_point():
        raise ValueError(f"imresize expects a float tensor, got {img.dtype}; convert with `img.float() / 255`.")
    in_h, in_w = img.shape[-2:]
    if size is not None:
        out_h, out_w = size
        if out_h <= 0 or out_w <= 0:
            raise ValueError(f"imresize size must be positive, got {size}.")
        scale_h, scale_w = out_h / in_h, out_w / in_w
    else:
        assert scale is not None
        if scale <= 0:
            raise ValueError(f"imresize scale must be positive, got {scale}.")
        out_h, out_w = math.ceil(in_h * scale), math.ceil(in_w * scale)
        scale_h = scale_w = scale
    compute_dtype = torch.float64 if img.dtype == torch.float64 else torch.float32
    rows = _resize_matrix(in_h, out_h, scale_h, antialiasing).to(img.device, compute_dtype)
    cols = _resize_matrix(in_w, out_w, scale_w, antialiasing).to(img.device, compute_dtype)
    out = rows @ img.to(compute_dtype) @ cols.T
    return out.to(img.dtype)
