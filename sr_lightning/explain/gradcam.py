"""Class-activation heatmaps for SR generators: which LR pixels a layer's features use to draw a chosen output.

A classifier's Grad-CAM explains a class score; an SR network has no classes, so the score is a property of the
output image: its total edge energy (where the network draws detail) or its mean luminance, over the whole SR image
or a region of it. The functions run the model in eval mode with autograd on, even when called under
``torch.inference_mode()`` (as Lightning's validation is), and leave its modes, hooks and gradients as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_lightning.losses.edge import sobel_kernels

__all__ = ["explaining", "grad_cam", "overlay", "resolve_layer"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 on [0, 1] RGB


@contextmanager
def explaining(model: nn.Module) -> Iterator[None]:
    """Eval mode and autograd on (inside inference or no-grad mode too); every submodule's mode restored after."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        with torch.inference_mode(False), torch.enable_grad():
            model.eval()
            yield
    finally:
        for module, mode in modes:
            module.training = mode


def resolve_layer(model: nn.Module, layer: str | None = None) -> str:
    """The name of the layer :func:`grad_cam` reads: ``layer`` itself, or by default the last ``nn.Conv2d`` of the
    child named ``body`` (the feature extractor of EDSR, SRResNet and their variants).

    Raises:
        ValueError: ``layer`` is not a module name of ``model``, or ``layer`` is None and ``model`` has no ``body``
            with a convolution; the message lists the convolution layers to choose from.

    Example:
        >>> from sr_lightning.models import EDSR
        >>> resolve_layer(EDSR(scale=2, n_resblocks=2, n_feats=8))
        'body.2'
    """
    modules = dict(model.named_modules())
    convs = [name for name, module in modules.items() if isinstance(module, nn.Conv2d)]
    if layer is not None:
        if not layer or layer not in modules:
            raise ValueError(
                f"layer={layer!r} is not a module of {type(model).__name__}; name one of its conv layers: {convs}."
            )
        return layer
    body_convs = [name for name in convs if name == "body" or name.startswith("body.")]
    if "body" not in modules or not body_convs:
        raise ValueError(
            f"{type(model).__name__} has no `body` child with a conv layer to explain by default; pass layer= one "
            f"of its conv layers: {convs}."
        )
    return body_convs[-1]


def _score(sr: Tensor, target: str, region: tuple[int, int, int, int] | None) -> Tensor:
    """The per-image scalar to explain, (B,): mean luminance or total squared-Sobel edge energy of ``sr``."""
    height, width = sr.shape[-2:]
    y0, x0, y1, x1 = region if region is not None else (0, 0, height, width)
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        raise ValueError(
            f"region={region!r} (y0, x0, y1, x1) is not a non-empty box inside the {height}x{width} SR output."
        )
    luma = (sr * sr.new_tensor(_LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    if target == "luminance":
        return luma[..., y0:y1, x0:x1].mean(dim=(1, 2, 3))
    grad = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), sobel_kernels(sr.dtype, sr.device))
    return grad.pow(2).sum(dim=1)[..., y0:y1, x0:x1].sum(dim=(1, 2))


def grad_cam(
    model: nn.Module,
    lr: Tensor,
    layer: str | None = None,
    target: Literal["edge_energy", "luminance"] = "edge_energy",
    region: tuple[int, int, int, int] | None = None,
    method: Literal["hirescam", "gradcam"] = "hirescam",
    saturation: float = 0.0,
) -> Tensor:
    """Heatmaps of where ``layer``'s features drive ``target``, one per image, normalized to [0, 1] at LR size.

    With ``A`` the layer's activation and ``g`` the gradient of the score with respect to it, ``"gradcam"`` is
    ``ReLU(sum_k mean(g_k) A_k)`` and ``"hirescam"`` is ``ReLU(sum_k g_k A_k)``; why HiResCAM is the default is in
    ``docs/explain.md``.

    Args:
        model: a generator, (B, 3, h, w) -> (B, 3, sh, sw).
        lr: (B, 3, h, w) images in [0, 1]; any device and grad mode, never modified.
        layer: a module name of ``model`` (``dict(model.named_modules())``); None picks the last conv of ``body``.
        target: ``"edge_energy"``: the sum of squared Sobel gradients of the output's BT.601 luminance, so flat
            output areas contribute nothing; ``"luminance"``: the mean output luminance.
        region: ``(y0, x0, y1, x1)`` in SR pixels over which the score is taken; None for the whole image.
        method: ``"hirescam"`` (Draelos and Carin 2020) or ``"gradcam"`` (Selvaraju et al. 2017).
        saturation: the fraction of each map's highest values that saturate at 1, in [0, 1): the map is divided by
            its ``1 - saturation`` quantile and clipped. 0 divides by the maximum.

    Returns:
        (B, 1, h, w) heatmaps in [0, 1], each divided by its maximum or quantile (an all-zero map stays zero).

    Raises:
        ValueError: an unknown ``layer`` (the message lists the conv layers), ``target`` or ``method``, a
            ``saturation`` outside [0, 1), an ``lr`` that is not a (B, 3, h, w) batch, a ``region`` outside the
            output, or a layer that does not run exactly once per forward.

    Example:
        >>> import torch
        >>> from sr_lightning.models import EDSR
        >>> _ = torch.manual_seed(0)
        >>> lr = torch.full((1, 3, 16, 16), 0.5)
        >>> lr[..., 8:] = torch.rand(1, 3, 16, 8)  # flat left half, textured right half
        >>> cam = grad_cam(EDSR(scale=2, n_resblocks=2, n_feats=8), lr)
        >>> cam.shape, cam.amax().item()
        (torch.Size([1, 1, 16, 16]), 1.0)
        >>> bool(cam[..., 8:].mean() > 2 * cam[..., :8].mean())
        True
    """
    if target not in ("edge_energy", "luminance"):
        raise ValueError(f"target must be 'edge_energy' or 'luminance', got {target!r}.")
    if not 0.0 <= saturation < 1.0:
        raise ValueError(f"saturation must be in [0, 1), got {saturation!r}.")
    if method not in ("hirescam", "gradcam"):
        raise ValueError(f"method must be 'hirescam' or 'gradcam', got {method!r}.")
    if lr.dim() != 4 or lr.shape[1] != 3:
        raise ValueError(f"lr must be a (B, 3, h, w) image batch, got shape {tuple(lr.shape)}.")
    name = resolve_layer(model, layer)
    captured: list[Tensor] = []
    handle = dict(model.named_modules())[name].register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        with explaining(model):
            x = lr.detach().clone().requires_grad_(True)  # a normal tensor, even when lr is an inference tensor
            sr = model(x)
            if len(captured) != 1 or not isinstance(captured[0], Tensor) or captured[0].dim() != 4:
                raise ValueError(
                    f"layer {name!r} must output one (B, C, H, W) tensor once per forward; it ran {len(captured)} "
                    "time(s). Choose a conv layer that runs once."
                )
            activation = captured[0]
            score = _score(sr, target, region).sum()
            grad = None
            if activation.requires_grad:  # False (and the map zero) when the layer does not depend on the input
                (grad,) = torch.autograd.grad(score, activation, allow_unused=True)
            if grad is None:  # the score does not depend on this layer
                grad = torch.zeros_like(activation)
            weights = grad.mean(dim=(2, 3), keepdim=True) if method == "gradcam" else grad
            cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    finally:
        handle.remove()
    if cam.shape[-2:] != lr.shape[-2:]:
        cam = F.interpolate(cam, size=lr.shape[-2:], mode="bilinear", align_corners=False).clamp_min(0)
    peak = cam.amax(dim=(1, 2, 3), keepdim=True)
    if saturation > 0:
        quantile = torch.quantile(cam.flatten(1).float(), 1.0 - saturation, dim=1).view_as(peak).to(cam.dtype)
        peak = torch.where(quantile > 0, quantile, peak)  # a map that is mostly zero keeps its maximum
    return (cam / torch.where(peak > 0, peak, torch.ones_like(peak))).clamp(0, 1)


def _jet(value: Tensor) -> Tensor:
    """A jet-like colormap: (B, 1, H, W) in [0, 1] -> (B, 3, H, W), dark blue at 0, green at 0.5, dark red at 1."""
    centres = value.new_tensor((3.0, 2.0, 1.0)).view(1, 3, 1, 1)  # red, green, blue
    return (1.5 - (4 * value.clamp(0, 1) - centres).abs()).clamp(0, 1)


def overlay(image: Tensor, heatmap: Tensor, alpha: float = 0.5) -> Tensor:
    """Blend a jet-coloured ``heatmap`` over ``image``: ``(1 - alpha) * image + alpha * jet(heatmap)``.

    Args:
        image: (B, 3, H, W) in [0, 1].
        heatmap: (B, 1, h, w) in [0, 1], resized to (H, W) bilinearly.
        alpha: weight of the colours, in [0, 1].

    Returns:
        (B, 3, H, W) in [0, 1].

    Raises:
        ValueError: ``alpha`` outside [0, 1], or shapes that do not fit.

    Example:
        >>> import torch
        >>> overlay(torch.ones(1, 3, 2, 2), torch.zeros(1, 1, 1, 1), alpha=0.5)[0, :, 0, 0]
        tensor([0.5000, 0.5000, 0.7500])
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    if image.dim() != 4 or image.shape[1] != 3 or heatmap.dim() != 4 or heatmap.shape[1] != 1:
        raise ValueError(
            f"overlay needs a (B, 3, H, W) image and a (B, 1, h, w) heatmap, got {tuple(image.shape)} and "
            f"{tuple(heatmap.shape)}."
        )
    if heatmap.shape[0] != image.shape[0]:
        raise ValueError(f"image and heatmap batch sizes differ: {image.shape[0]} and {heatmap.shape[0]}.")
    heat = heatmap.detach().float()
    if heat.shape[-2:] != image.shape[-2:]:
        heat = F.interpolate(heat, size=image.shape[-2:], mode="bilinear", align_corners=False)
    return ((1 - alpha) * image.detach().float().clamp(0, 1) + alpha * _jet(heat)).clamp(0, 1)
