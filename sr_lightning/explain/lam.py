"""Local Attribution Maps (Gu and Dong, CVPR 2021): which LR pixels an SR network uses to draw one output patch.

LAM is integrated gradients along a *progressive blurring* path. The baseline is the LR image blurred by a Gaussian
of width ``sigma`` (a picture with the same colours and no detail); the path ``gamma(a) = blur(lr, (1 - a) sigma)``
sharpens it back to ``lr`` as ``a`` goes from 0 to 1. The attribution of an input pixel is
``integral_0^1 dD(F(gamma(a)))/dgamma(a) * dgamma(a)/da da``, where ``D`` is the gradient (detail) of the output
inside the window. The diffusion index (DI) measures how widely that attribution is spread: ``(1 - Gini) * 100``.
Why a blur path, and where the defaults come from: ``docs/explain.md``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_lightning.explain.gradcam import explaining
from sr_lightning.losses.edge import sobel_magnitude

__all__ = ["diffusion_index", "local_attribution_map"]


def _gaussian_kernels(sigmas: Tensor, size: int) -> Tensor:
    """(N, 1, size, size) normalized isotropic Gaussians; the paper's ``+1e-5`` makes sigma 0 a unit impulse."""
    ax = torch.arange(size, dtype=torch.float64) - size // 2
    dist2 = (ax.view(1, -1, 1) ** 2 + ax.view(1, 1, -1) ** 2).expand(len(sigmas), size, size)
    kernels = torch.exp(-dist2 / (2 * (sigmas.view(-1, 1, 1).double() + 1e-5) ** 2))
    return (kernels / kernels.sum(dim=(1, 2), keepdim=True)).unsqueeze(1)


def _blur_path(lr: Tensor, steps: int, sigma: float, kernel_size: int) -> Tensor:
    """(steps + 1, 3, h, w): ``lr`` blurred with sigma going linearly from ``sigma`` down to 0 (reflect borders)."""
    kernels = _gaussian_kernels(torch.linspace(sigma, 0.0, steps + 1), kernel_size).to(lr.dtype).to(lr.device)
    pad = kernel_size // 2
    planes = F.pad(lr[0].unsqueeze(1), (pad, pad, pad, pad), mode="reflect")  # (3, 1, h + 2p, w + 2p)
    return F.conv2d(planes, kernels).transpose(0, 1)  # (steps + 1, 3, h, w)


def _path_attribution(
    model: nn.Module,
    lr: Tensor,
    window: tuple[int, int, int],
    steps: int,
    sigma: float,
    kernel_size: int,
    batch_size: int,
) -> Tensor:
    """The signed (3, h, w) path integral; its sum approximates ``D(F(lr)) - D(F(baseline))``."""
    y, x, size = window
    with explaining(model):
        path = _blur_path(lr.detach().clone(), steps, sigma, kernel_size)
        deltas = path[1:] - path[:-1]  # dgamma/da * da, one Riemann step each (the paper's right-end sum)
        total = torch.zeros_like(lr[0])
        for start in range(0, steps, batch_size):
            images = path[1 + start : 1 + start + batch_size].clone().requires_grad_(True)
            sr = model(images)
            height, width = sr.shape[-2:]
            if not (size >= 1 and 0 <= y <= height - size and 0 <= x <= width - size):
                raise ValueError(
                    f"window={window!r} (y, x, size) must be a non-empty square inside the {height}x{width} SR "
                    "output; give its top-left corner and side in HR pixels."
                )
            detail = sobel_magnitude(sr)[..., y : y + size, x : x + size].sum()
            (grad,) = torch.autograd.grad(detail, images)
            total += (grad * deltas[start : start + batch_size]).sum(dim=0).detach()
    return total


def local_attribution_map(
    model: nn.Module,
    lr: Tensor,
    window: tuple[int, int, int],
    steps: int = 50,
    sigma: float = 1.2,
    kernel_size: int = 9,
    batch_size: int = 10,
) -> Tensor:
    """The LAM of ``model`` for the output patch ``window``: how much each LR pixel contributes to its detail.

    Follows the authors' implementation: the path goes from ``lr`` blurred by a ``kernel_size`` Gaussian of width
    ``sigma`` to ``lr`` in ``steps`` Riemann steps (the defaults are their demo's); the target ``D`` is the sum over
    the window of the output's per-channel Sobel gradient magnitude; the map is the absolute value of the channel
    sum of the path integral. The model runs in eval mode with autograd on (inference mode included); its modes and
    gradients are left as they were.

    Args:
        model: a generator, (1, 3, h, w) -> (1, 3, sh, sw).
        lr: (1, 3, h, w) image in [0, 1].
        window: ``(y, x, size)``: top-left corner and side of the square output patch, in HR pixels.
        steps: Riemann steps along the path.
        sigma: width of the baseline's Gaussian blur, in LR pixels.
        kernel_size: odd side of the blur kernel; it must be smaller than twice the image side (reflect padding).
        batch_size: path images per forward pass (memory against speed; the result does not depend on it).

    Returns:
        (h, w) non-negative attribution.

    Raises:
        ValueError: ``lr`` is not one (1, 3, h, w) image, ``window`` is not inside the output, or ``steps``,
            ``sigma``, ``kernel_size`` or ``batch_size`` is out of range.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))  # sees 3x3 LR pixels
        >>> lam = local_attribution_map(net, torch.rand(1, 3, 16, 16), window=(8, 8, 4), steps=10)
        >>> (lam > 0).nonzero().amin(0).tolist(), (lam > 0).nonzero().amax(0).tolist()
        ([2, 2], [7, 7])
    """
    if lr.dim() != 4 or lr.shape[:2] != (1, 3):
        raise ValueError(f"lr must be one (1, 3, h, w) image, got shape {tuple(lr.shape)}; explain one at a time.")
    if steps < 1 or batch_size < 1 or not sigma > 0:
        raise ValueError(f"steps, batch_size and sigma must be positive, got {steps}, {batch_size} and {sigma}.")
    if kernel_size < 1 or kernel_size % 2 == 0 or kernel_size // 2 >= min(lr.shape[-2:]):
        raise ValueError(
            f"kernel_size={kernel_size} must be odd and below twice the image side ({tuple(lr.shape[-2:])}); "
            "use a smaller kernel for so small an image."
        )
    return _path_attribution(model, lr, window, steps, sigma, kernel_size, batch_size).sum(dim=0).abs()


def diffusion_index(attribution: Tensor) -> float:
    """The paper's diffusion index: ``(1 - G) * 100`` with ``G`` the Gini coefficient of ``|attribution|``.

    Near 0 when one pixel holds all the attribution (exactly ``100 / n`` for n pixels), 100 when it is uniform,
    ``100 * k / n`` when k of n pixels share it equally; the scale of the map does not matter.

    Raises:
        ValueError: the map is empty, all zero (nothing to measure) or not finite.

    Example:
        >>> import torch
        >>> diffusion_index(torch.ones(8, 8)), diffusion_index(torch.eye(4))
        (100.0, 25.0)
    """
    values = attribution.detach().abs().flatten().double()
    if values.numel() == 0 or not torch.isfinite(values).all() or values.sum() == 0:
        raise ValueError(
            f"diffusion_index needs a finite attribution map that is not all zero, got {values.numel()} values "
            f"summing to {values.sum().item()}."
        )
    values = values.sort().values
    n = values.numel()
    rank = torch.arange(1, n + 1, dtype=torch.float64, device=values.device)
    gini = ((2 * rank - n - 1) * values).sum() / (n * values.sum())
    return float((1 - gini) * 100)
