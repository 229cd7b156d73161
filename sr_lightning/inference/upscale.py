"""Upscaling images with a trained generator: tensors, and Pillow images or files of any mode.

Both go through :func:`upscale_tensor`: tiles of ``tile`` LR pixels with ``overlap`` pixels of blended context
(:func:`~sr_lightning.inference.tiled_upscale`), optionally the 8-way self-ensemble, the model on its own device
and the output assembled on the CPU, so GPU memory stays that of one tile however large the image. Folders of files:
:func:`~sr_lightning.inference.upscale_files`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn

from sr_lightning.data.image_parts import compose, read_parts, split_image
from sr_lightning.data.io import to_float
from sr_lightning.inference.device import device_of
from sr_lightning.inference.ensemble import self_ensemble as _self_ensemble
from sr_lightning.inference.tiling import tile_spans, tiled_upscale

__all__ = ["upscale_image", "upscale_tensor"]

Progress = Callable[[int, int], None]


def _check_scale(generator: nn.Module, scale: int | None) -> int:
    own = getattr(generator, "scale", None)
    if own is None:
        raise ValueError(f"{type(generator).__name__} has no `scale` attribute; generators must say their factor.")
    if scale is not None and scale != own:
        raise ValueError(
            f"the {type(generator).__name__} upscales x{own}, not x{scale}; load it with "
            f"load_generator(path, scale={scale}) (multi-scale models) or leave scale unset."
        )
    return int(own)


def upscale_tensor(
    generator: nn.Module,
    lr: Tensor,
    scale: int | None = None,
    tile: int | None = 256,
    overlap: int = 16,
    self_ensemble: bool = False,
    progress: Progress | None = None,
) -> Tensor:
    """Upscale a (B, 3, h, w) float batch in [0, 1] to (B, 3, h*s, w*s) floats on the CPU (not clamped).

    Tiles are cut from ``lr`` where it lies, run on the generator's device and blended on the CPU.

    Args:
        generator: an SR generator (in eval mode for inference) with a ``scale`` attribute.
        lr: the low-resolution batch.
        scale: the expected factor; ``None`` takes the generator's.
        tile: the tile side in LR pixels; ``None`` runs the whole image at once.
        overlap: context pixels on each side of a tile; exact when it is at least twice the model's
            receptive-field radius.
        self_ensemble: average the 8 flips and rotations (8x the time).
        progress: called as ``progress(done, total)`` after each model call (tile), over all ensemble passes.

    Raises:
        ValueError: the generator's scale is not ``scale``, or ``tile``/``overlap`` are invalid.

    Example:
        >>> from sr_lightning.models import EDSR
        >>> net = EDSR(scale=2, n_resblocks=1, n_feats=8).eval()
        >>> lr = torch.rand(1, 3, 40, 30)
        >>> tiled = upscale_tensor(net, lr, tile=16, overlap=16)
        >>> tiled.shape, bool((tiled - net(lr)).abs().max() < 1e-4)
        (torch.Size([1, 3, 80, 60]), True)
    """
    scale = _check_scale(generator, scale)
    device = device_of(generator)
    lr = lr.float().cpu()
    height, width = lr.shape[-2:]
    per_pass = (
        1
        if tile is None or max(height, width) <= tile
        else len(tile_spans(height, tile, 0)) * len(tile_spans(width, tile, 0))
    )
    total, done = per_pass * (8 if self_ensemble else 1), 0

    def run(x: Tensor) -> Tensor:
        nonlocal done
        out = generator(x.to(device)).float().cpu()
        done += 1
        if progress is not None:
            progress(done, total)
        return out

    def tiled(x: Tensor) -> Tensor:
        return tiled_upscale(run, x, scale, tile=tile, overlap=overlap, output_device="cpu")

    with torch.inference_mode():
        return _self_ensemble(tiled, lr) if self_ensemble else tiled(lr)


def upscale_image(
    generator: nn.Module,
    image: Image.Image | Tensor | str | Path,
    scale: int | None = None,
    tile: int | None = 256,
    overlap: int = 16,
    self_ensemble: bool = False,
    progress: Progress | None = None,
) -> Image.Image:
    """Upscale one image of any mode and return it as an 8-bit Pillow image (``L``, ``LA``, ``RGB`` or ``RGBA``).

    The generator sees 8-bit RGB, read with the library's rules (:func:`~sr_lightning.data.read_image`):

    - RGB, palette (``P``), CMYK, YCbCr...: upscaled as RGB, written as ``RGB``.
    - Grayscale (``1``, ``L``, 16-bit ``I;16``/``I``, float ``F``): the gray replica is upscaled as RGB and the
      mean of the three output channels is the gray output (``L``).
    - An alpha channel (``RGBA``, ``LA``, ``PA``, palette or colour-key transparency) is upscaled with MATLAB
      bicubic (:func:`~sr_lightning.data.imresize`) and put back (``RGBA`` / ``LA``).
    - 16-bit images come out 8-bit: they are read as ``round(x / 257)``, as everywhere in the library (the
      models are trained on 8-bit images), so a 16-bit file gives an 8-bit PNG, not a 16-bit one.

    Args:
        generator: the SR generator, in eval mode, on the device it should run on.
        image: a Pillow image, an image file, or a (3, H, W) tensor (``uint8``, or float in [0, 1]).
        scale: the expected factor; ``None`` takes the generator's.
        tile: the tile side in LR pixels (``None``: the whole image at once).
        overlap: blended context pixels around each tile.
        self_ensemble: average the 8 flips and rotations.
        progress: called as ``progress(done, total)`` after each tile.

    Raises:
        ImageReadError: ``image`` is a file that cannot be read (the message names it).
        ValueError: the generator's scale is not ``scale``, or a tensor is not (3, H, W).

    Example:
        >>> from sr_lightning.models import EDSR
        >>> net = EDSR(scale=2, n_resblocks=1, n_feats=8).eval()
        >>> out = upscale_image(net, Image.new("RGBA", (12, 10), (30, 60, 90, 128)))
        >>> out.mode, out.size, out.getpixel((5, 5))[3]
        ('RGBA', (24, 20), 128)
    """
    if isinstance(image, Tensor):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"a tensor image must be (3, H, W) RGB, got shape {tuple(image.shape)}.")
        rgb, alpha, gray = (to_float(image) if image.dtype == torch.uint8 else image.float()), None, False
    else:
        parts = split_image(image) if isinstance(image, Image.Image) else read_parts(image)
        rgb, alpha, gray = to_float(parts.rgb), parts.alpha, parts.gray
    scale = _check_scale(generator, scale)
    sr = upscale_tensor(
        generator, rgb[None], scale, tile=tile, overlap=overlap, self_ensemble=self_ensemble, progress=progress
    )
    alpha_sr = None
    if alpha is not None:
        from sr_lightning.data.imresize import imresize

        alpha_sr = imresize(to_float(alpha)[None], scale)[0]
    return compose(sr[0], alpha_sr, gray)
