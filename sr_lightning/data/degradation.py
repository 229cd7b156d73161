"""The degradation model: how a low-resolution (LR) image is made from a high-resolution (HR) one.

The benchmark protocol (Set5, Set14, DIV2K ``LR_bicubic``) crops the HR image to a multiple of the scale and
shrinks it with MATLAB's bicubic ``imresize``; the result is saved as an 8-bit image. The LR images a network
sees in practice are therefore 8-bit, so :func:`bicubic_lr` clamps and rounds to the 256 levels too: a model
trained on unquantized LR would meet a slightly different input distribution at test time.
"""

from __future__ import annotations

from torch import Tensor

from sr_lightning.data.imresize import imresize

__all__ = ["bicubic_lr", "crop_to_multiple", "quantize_8bit"]


def crop_to_multiple(img: Tensor, scale: int) -> Tensor:
    """Crop the bottom and right edges so that height and width are multiples of ``scale``.

    Works on any tensor whose last two dimensions are (H, W); it returns a view.

    Example:
        >>> import torch
        >>> crop_to_multiple(torch.zeros(3, 10, 7), 3).shape
        torch.Size([3, 9, 6])
    """
    height, width = img.shape[-2:]
    return img[..., : height - height % scale, : width - width % scale]


def quantize_8bit(img: Tensor) -> Tensor:
    """Clamp a float image to [0, 1] and round it to the nearest of the 256 8-bit levels.

    Example:
        >>> import torch
        >>> quantize_8bit(torch.tensor([-0.1, 0.5, 1.2])) * 255
        tensor([  0., 128., 255.])
    """
    return img.clamp(0, 1).mul(255).round().div(255)


def bicubic_lr(hr: Tensor, scale: int) -> Tensor:
    """Make the 8-bit low-resolution image of ``hr`` with MATLAB bicubic, the benchmark degradation.

    Args:
        hr: float image (C, H, W) or batch (B, C, H, W) in [0, 1], with H and W multiples of ``scale``
            (use :func:`crop_to_multiple` first).
        scale: the integer downscaling factor.

    Returns:
        The (…, H / scale, W / scale) image, clamped to [0, 1] and quantized to 8-bit levels (``k / 255``).

    Raises:
        ValueError: if H or W is not a multiple of ``scale``.

    Example:
        >>> import torch
        >>> lr = bicubic_lr(torch.rand(3, 12, 12), 4)
        >>> lr.shape, bool(((lr * 255) == (lr * 255).round()).all())
        (torch.Size([3, 3, 3]), True)
    """
    height, width = hr.shape[-2:]
    if height % scale or width % scale:
        raise ValueError(
            f"bicubic_lr needs an HR size that is a multiple of scale {scale}, got {height}x{width}; "
            "crop it with crop_to_multiple first."
        )
    return quantize_8bit(imresize(hr, size=(height // scale, width // scale)))
