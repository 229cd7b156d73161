"""Tiled upscaling: bounded memory on large images, no visible seams, exact for a bounded receptive field."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["tile_spans", "tiled_upscale"]


def tile_spans(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(core_start, core_end, input_start, input_end)`` along one axis: cores of ``tile`` pixels cover
    ``size``, each input adds up to ``overlap`` pixels of context on both sides.

    Example:
        >>> tile_spans(10, 4, 2)
        [(0, 4, 0, 6), (4, 8, 2, 10), (8, 10, 6, 10)]
    """
    return [(s, min(s + tile, size), max(0, s - overlap), min(size, s + tile + overlap)) for s in range(0, size, tile)]


def _ramp(length: int, start_inside: bool, end_inside: bool, margin: float) -> Tensor:
    """Blend weights along one axis of a tile's output: 0 within ``margin`` of an edge that lies inside the image,
    rising linearly to 1 at ``2 * margin``; edges on the image border get no ramp."""
    position = torch.arange(length, dtype=torch.float32) + 0.5
    weight = torch.ones(length)
    if margin > 0:
        if start_inside:
            weight = torch.minimum(weight, ((position - margin) / margin).clamp(0, 1))
        if end_inside:
            weight = torch.minimum(weight, ((length - position - margin) / margin).clamp(0, 1))
    return weight


def tiled_upscale(
    upscale: Callable[[Tensor], Tensor],
    lr: Tensor,
    scale: int,
    tile: int | None = 256,
    overlap: int = 16,
    output_device: torch.device | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Tensor:
    """Upscale ``lr`` (B, C, h, w) tile by tile and blend the tiles into one (B, C, h*scale, w*scale) image.

    The image is cut into cores of ``tile`` x ``tile`` LR pixels; each is upscaled with ``overlap`` pixels of
    context on every side. In the output, a tile's weight is 0 within ``overlap / 2`` LR pixels of its inner edges
    and rises linearly to 1 at its core, so neighbouring tiles cross-fade over the context band and no seam
    shows. A pixel only takes values computed at least ``overlap / 2`` pixels from a tile's cut edge, so a model
    whose receptive field reaches at most ``overlap / 2`` LR pixels from the output pixel gives exactly the
    untiled result; a model with global context (channel attention's average pooling) differs slightly, seam
    free. Peak memory is that of one tile of ``tile + 2 * overlap`` pixels plus the output.

    Args:
        upscale: the model, (B, C, h', w') -> (B, C, h'*scale, w'*scale).
        lr: the low-resolution batch.
        scale: the model's upscaling factor.
        tile: the core side in LR pixels; ``None`` (or an image no larger) upscales in one pass.
        overlap: context pixels on each side of a core.
        output_device: where the output is assembled (default: ``lr``'s device); ``"cpu"`` keeps a 4K output
            off the GPU.
        progress: called as ``progress(done, total)`` after each tile.

    Raises:
        ValueError: for a ``tile`` below 1, a negative ``overlap`` or a model output of the wrong size.

    Example:
        >>> import torch.nn.functional as F
        >>> nearest = lambda x: F.interpolate(x, scale_factor=2, mode="nearest")
        >>> lr = torch.rand(1, 3, 37, 50)
        >>> torch.allclose(tiled_upscale(nearest, lr, scale=2, tile=16, overlap=4), nearest(lr))
        True
    """
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be a positive number of LR pixels or None, got {tile}.")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}.")
    batch, channels, height, width = lr.shape
    if tile is None or (height <= tile and width <= tile):
        return upscale(lr).to(output_device or lr.device)
    rows, cols = tile_spans(height, tile, overlap), tile_spans(width, tile, overlap)
    output = torch.zeros(batch, channels, height * scale, width * scale, device=output_device or lr.device)
    weights = torch.zeros(1, 1, height * scale, width * scale, device=output.device)
    done, total = 0, len(rows) * len(cols)
    for _, _, y0, y1 in rows:
        wy = _ramp((y1 - y0) * scale, y0 > 0, y1 < height, overlap * scale / 2)
        for _, _, x0, x1 in cols:
            out = upscale(lr[..., y0:y1, x0:x1])
            expected = (batch, channels, (y1 - y0) * scale, (x1 - x0) * scale)
            if tuple(out.shape) != expected:
                raise ValueError(f"the model gave {tuple(out.shape)} for a tile, expected {expected} (scale={scale}).")
            wx = _ramp((x1 - x0) * scale, x0 > 0, x1 < width, overlap * scale / 2)
            weight = (wy[:, None] * wx[None, :]).to(output.device)
            region = (..., slice(y0 * scale, y1 * scale), slice(x0 * scale, x1 * scale))
            output[region] += out.float().to(output.device) * weight
            weights[region] += weight
            done += 1
            if progress is not None:
                progress(done, total)
    return output / weights
