"""Images of any mode as what a generator takes (8-bit RGB) plus what it does not (alpha, grayness), and back: what
``upscale`` reads and writes. (Training data is read by :func:`~sr_lightning.data.read_image` alone.)

A generator upscales RGB. An image is split into its 8-bit RGB (the library's reader rules: 16-bit samples become
``round(x / 257)``, float samples are clipped to [0, 1]), its alpha plane if it has one and whether it is
grayscale; after upscaling, :func:`compose` puts the same kind of image back together: gray stays gray (the mean
of the upscaled replica's channels), alpha comes back (upscaled by the caller), every sample 8-bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from sr_lightning.data.io import _decode, _rawmode, _read_tiff, _to_rgb_uint8, read_image
from sr_lightning.data.transforms import dihedral

__all__ = ["ImageParts", "compose", "read_parts", "split_image", "upright"]

# EXIF orientation (tag 274) -> the dihedral transform that shows the picture upright (the same one Pillow's
# ImageOps.exif_transpose applies): bit 0 flips left-right, bit 1 top-bottom, bit 2 transposes, in that order.
_EXIF_ORIENTATION_TAG = 274
_UPRIGHT = {1: 0, 2: 1, 3: 3, 4: 2, 5: 4, 6: 6, 7: 7, 8: 5}

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block: use the pixels as stored
        return 1


class ImageParts(NamedTuple):
    """An image as a generator sees it: ``rgb`` (3, H, W) uint8, ``alpha`` (1, H, W) uint8 or None, ``gray``."""

    rgb: Tensor
    alpha: Tensor | None
    gray: bool


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ALPHA_MODES or "transparency" in im.info


def _alpha_plane(im: Image.Image, path: Path | None = None) -> Tensor | None:
    """The alpha (or palette/colour-key transparency) of ``im`` as (1, H, W) uint8; 16-bit alpha is rounded."""
    if not _has_alpha(im):
        return None
    if path is not None and im.mode == "RGBA" and ";16" in _rawmode(im):  # Pillow would keep the high byte
        alpha = _to_rgb_uint8(_decode(path)[..., 3], path)[..., 0]  # the library's 16-bit decoding, rounded
    else:
        alpha = np.asarray(im.convert("RGBA").getchannel("A"))
    return torch.from_numpy(np.array(alpha, dtype=np.uint8))[None]


def upright(parts: ImageParts, orientation: int) -> ImageParts:
    """``parts`` turned as the EXIF ``orientation`` says a viewer shows them (a phone photo taken sideways).

    Example:
        >>> parts = ImageParts(torch.arange(6, dtype=torch.uint8).view(1, 2, 3).expand(3, 2, 3), None, False)
        >>> upright(parts, 6).rgb[0].tolist()  # rotated 90 degrees clockwise
        [[3, 0], [4, 1], [5, 2]]
    """
    k = _UPRIGHT.get(orientation, 0)
    if k == 0:
        return parts
    alpha = None if parts.alpha is None else dihedral(parts.alpha, k).contiguous()
    return ImageParts(dihedral(parts.rgb, k).contiguous(), alpha, parts.gray)


def split_image(image: Image.Image) -> ImageParts:
    """Split a Pillow image of any mode into 8-bit RGB, alpha and grayness, turned upright by its EXIF orientation.

    Example:
        >>> parts = split_image(Image.new("LA", (3, 2), color=(200, 128)))
        >>> parts.rgb[:, 0, 0].tolist(), parts.alpha[0, 0, 0].item(), parts.gray
        ([200, 200, 200], 128, True)
    """
    name = Path(getattr(image, "filename", "") or f"<{image.mode} image>")
    if image.mode in _HIGH_BIT_MODES:
        rgb = _to_rgb_uint8(np.asarray(image), name)
    else:
        try:
            rgb = np.asarray(image.convert("RGB"))
        except (ValueError, OSError) as error:
            raise ValueError(
                f"{name}: cannot convert a {image.mode} image to RGB ({error}); save it as RGB."
            ) from error
    tensor = torch.from_numpy(np.array(rgb.transpose(2, 0, 1), dtype=np.uint8, order="C"))
    return upright(ImageParts(tensor, _alpha_plane(image), image.mode in GRAY_MODES), _orientation(image))


def read_parts(path: str | Path) -> ImageParts:
    """Read an image file as :class:`ImageParts`, its RGB exactly as :func:`~sr_lightning.data.read_image` reads it,
    then turned upright by its EXIF orientation (training data is read as stored; a photo to upscale is shown).

    Raises:
        ImageReadError: the file is missing, not an image or corrupt (the message names it).
    """
    path = Path(path)
    rgb = read_image(path)
    try:
        with Image.open(path) as im:
            return upright(ImageParts(rgb, _alpha_plane(im, path), im.mode in GRAY_MODES), _orientation(im))
    except UnidentifiedImageError:  # a TIFF only tifffile reads (16-bit colour, float): look at its channels
        array = _read_tiff(path)
        channels = 1 if array.ndim == 2 else array.shape[2]
        alpha = None
        if channels in (2, 4):
            alpha = torch.from_numpy(np.array(_to_rgb_uint8(array[..., -1], path)[..., 0], dtype=np.uint8))[None]
        return ImageParts(rgb, alpha, channels <= 2)


def _to_uint8(planes: Tensor) -> np.ndarray:
    """(C, H, W) floats in [0, 1] -> (H, W, C) uint8, rounded to the nearest level."""
    levels = (planes.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    return levels.permute(1, 2, 0).numpy()


def compose(sr: Tensor, alpha: Tensor | None, gray: bool) -> Image.Image:
    """Put an upscaled image together: ``sr`` (3, H, W) and ``alpha`` (1, H, W) floats in [0, 1], 8-bit out.

    The mode is ``L``, ``LA``, ``RGB`` or ``RGBA``; a gray image's value is the mean of ``sr``'s channels.

    Example:
        >>> sr = torch.tensor([0.2, 0.4, 0.6]).view(3, 1, 1).expand(3, 2, 2)
        >>> im = compose(sr, torch.ones(1, 2, 2), gray=True)
        >>> im.mode, im.getpixel((0, 0))
        ('LA', (102, 255))
    """
    planes = sr.float().mean(dim=0, keepdim=True) if gray else sr.float()
    if alpha is not None:
        planes = torch.cat([planes, alpha.float().to(planes.device)])
    array = _to_uint8(planes)
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
