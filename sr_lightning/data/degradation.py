"""The degradation model: how a low-resolution (LR) image is made from a high-resolution (HR) one.

The benchmark protocol (Set5, Set14, DIV2K ``LR_bicubic``) crops the HR image to a multiple of the scale and
shrinks it with MATLAB's bicubic ``imresize``; the result is saved as an 8-bit image. The LR images a network
sees in practice are therefore 8-bit, so :func:`bicubic_lr` clamps and rounds to the 256 levels too: a model
trained on unquantized LR would meet a slightly different input distribution at test time.

Rounding to 8 bits turns the last bit of a float into a whole level (1/255) when a value lies near a half level,
and at x2 and x4 the MATLAB weights are short binary fractions, so exact half levels are common. So
:func:`bicubic_lr` resizes and rounds in float64: the result is then the same on any device, for a single image
or a batch, whatever order the matrix products sum in (a float32 product on a GPU rounds some pixels the other
way than on the CPU). That is what lets the data workers and the accelerator (``degrade_on_device``) agree.
"""

from __future__ import annotations

import torch
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
        The (…, H / scale, W / scale) image, clamped to [0, 1] and quantized to 8-bit levels (``k / 255``),
        in ``hr``'s dtype and device. It is computed in float64, so it does not depend on the device or batch.

    Raises:
        ValueError: if H or W is not a multiple of ``scale``, or ``hr`` is on Apple's MPS, which has no
            float64 (degrade on the CPU).

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
    if hr.device.type == "mps":
        raise ValueError(
            "bicubic_lr computes in float64, which Apple's MPS lacks: pass a CPU tensor "
            "(with SRDataModule, set degrade_on_device=False so the data workers make the LR patches)."
        )
    lr = imresize(hr.to(torch.float64), size=(height // scale, width // scale))
    return quantize_8bit(lr).to(hr.dtype)
