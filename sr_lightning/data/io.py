"""Reading image files as 8-bit RGB tensors, and listing the images of a folder.

Every image the library reads goes through :func:`read_image`, so a grayscale scan, a palette PNG, an RGBA
screenshot or a 16-bit microscopy TIFF all arrive as the same thing: a ``uint8`` tensor of shape (3, H, W).
Conversions are explicit: alpha is dropped (not composited), 16-bit samples are rounded to the nearest 8-bit
level (``round(x / 257)``, not truncated to the high byte as Pillow does for 16-bit RGB), float samples are
clipped to [0, 1]. EXIF orientation is not applied: pixels are used as stored, which keeps an HR file and its
LR file aligned. A file that is missing, not an image, truncated or corrupt raises :class:`ImageReadError`
naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

__all__ = ["IMAGE_EXTENSIONS", "ImageReadError", "image_size", "list_images", "read_image", "to_float"]

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_SIXTEEN_BIT_GRAY = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_TIFF_SUFFIXES = (".tif", ".tiff")


class ImageReadError(OSError):
    """An image file is missing, not an image, truncated or otherwise impossible to decode.

    The message always names the file and says what went wrong.
    """


def _rawmode(im: Image.Image) -> str:
    """The raw pixel layout Pillow will decode the file with (``"RGB;16B"`` for 16-bit RGB PNG), or ``""``."""
    if not im.tile:
        return ""
    args = im.tile[0][3]  # a named tuple's ``args`` from Pillow 11, a plain (decoder, extents, offset, args) before
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _read_tiff(path: Path) -> np.ndarray:
    """Read the first page of a TIFF with tifffile, which keeps 16-bit and float samples as they are."""
    import tifffile  # a dependency of scikit-image

    return np.asarray(tifffile.imread(path, key=0))


def _read_png_16bit_colour(path: Path, rawmode: str) -> np.ndarray:
    """Decode a 16-bit RGB(A) PNG to uint16, which Pillow can only hold as 8 bits per channel.

    Pillow decodes each big-endian sample to its high byte (``rawmode`` ``RGB;16B``). Decoding the same data a
    second time as little-endian (``RGB;16L``) yields the low bytes, with the PNG filters still undone with the
    right bytes-per-pixel; the two together give the exact 16-bit values.
    """
    with Image.open(path) as high:
        high.load()
        high_bytes = np.asarray(high, dtype=np.uint16)
    with Image.open(path) as low:
        tile, args = low.tile[0], rawmode.replace(";16B", ";16L")
        low.tile = [tile._replace(args=args) if hasattr(tile, "_replace") else (*tile[:3], args)]  # Pillow < 11
        low.load()
        low_bytes = np.asarray(low, dtype=np.uint16)
    return high_bytes * 256 + low_bytes


def _refuse_32bit_integers(path: Path) -> None:
    raise ImageReadError(
        f"{path}: 32-bit integer samples are not supported (nothing in the file says which range maps to white: "
        "0..65535? 0..4294967295?); convert the image to 8-bit, 16-bit, or float in [0, 1]."
    )


def _decode(path: Path) -> np.ndarray:
    """Decode ``path`` to an (H, W) or (H, W, C) array of its own sample type."""
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        if path.suffix.lower() not in _TIFF_SUFFIXES:
            raise
        array = _read_tiff(path)  # Pillow has no reader for float or 16-bit RGB TIFFs; tifffile has.
        if array.dtype.kind in "iu" and array.dtype.itemsize == 4:
            _refuse_32bit_integers(path)
        return array
    with im:
        if im.mode == "I" and im.format == "TIFF" and getattr(im, "tag_v2", {}).get(258) in (32, (32,)):
            _refuse_32bit_integers(path)  # Pillow's mode "I" also holds 16-bit files, which are read below
        rawmode = _rawmode(im)
        if im.mode in ("RGB", "RGBA") and ";16" in rawmode:
            if im.format == "PNG" and rawmode in ("RGB;16B", "RGBA;16B") and len(im.tile) == 1:
                return _read_png_16bit_colour(path, rawmode)
            if im.format == "TIFF":
                return _read_tiff(path)
            raise ImageReadError(
                f"{path}: 16-bit colour {im.format} images are not supported (Pillow would truncate them to "
                "8 bits); convert the file to 8-bit, or to a 16-bit PNG or TIFF."
            )
        if im.mode in _SIXTEEN_BIT_GRAY or im.mode == "F":
            im.load()
            return np.asarray(im)
        return np.asarray(im.convert("RGB"))


def _to_rgb_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    """Convert a decoded array to (H, W, 3) uint8 with the documented rules."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageReadError(f"{path}: unsupported pixel array of shape {array.shape}; expected gray or RGB(A).")
    array = array[:, :, :1] if array.shape[2] in (1, 2) else array[:, :, :3]
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif (array.dtype.kind in "ui" and array.dtype.itemsize == 2) or (
        array.dtype.kind == "i" and array.dtype.itemsize == 4
    ):  # 16-bit samples; Pillow's 32-bit mode "I" also holds 16-bit files.
        array = np.rint(np.clip(array.astype(np.float64), 0, 65535) / 257)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageReadError(f"{path}: float image contains NaN or infinite values.")
        array = np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255)
    else:
        raise ImageReadError(f"{path}: unsupported sample type {array.dtype}; use 8-bit, 16-bit or float images.")
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def read_image(path: str | Path) -> Tensor:
    """Read an image file as an 8-bit RGB tensor.

    Args:
        path: any file Pillow reads (PNG, JPEG, BMP, TIFF, WebP, ...). Gray, 1-bit, palette, LA, RGBA and CMYK
            images become RGB (alpha dropped); 16-bit images (gray ``I;16``/``I`` and 16-bit RGB PNG or TIFF)
            are rounded to 8 bits as ``round(x / 257)`` (32-bit integer samples, Pillow's mode ``I``, are
            read as 16-bit values, clipped to [0, 65535]); float images are clipped to [0, 1] and scaled
            by 255 with rounding.

    Returns:
        A ``torch.uint8`` tensor of shape (3, H, W).

    Raises:
        ImageReadError: if the file does not exist, is not an image, or cannot be decoded (truncated, corrupt);
            the message names the file.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = Path(tempfile.mkdtemp()) / "gray.png"
        >>> Image.new("L", (5, 4), color=200).save(path)
        >>> img = read_image(path)
        >>> img.shape, img.dtype, img[:, 0, 0].tolist()
        (torch.Size([3, 4, 5]), torch.uint8, [200, 200, 200])
    """
    path = Path(path)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise ImageReadError(f"Cannot read image {path}: the path {what}.")
    try:
        array = _decode(path)
    except ImageReadError:
        raise
    except Exception as error:  # Pillow and tifffile raise many types; all mean "this file cannot be read".
        raise ImageReadError(
            f"Cannot read image {path}: {type(error).__name__}: {error}. "
            "The file is not an image, or it is truncated or corrupt."
        ) from error
    rgb = _to_rgb_uint8(array, path)
    return torch.from_numpy(np.array(rgb.transpose(2, 0, 1), dtype=np.uint8, order="C"))  # a writable copy


def image_size(path: str | Path, verify: bool = True) -> tuple[int, int]:
    """Read an image's (height, width) from its header, without decoding the pixels.

    Args:
        path: the image file.
        verify: also run Pillow's ``verify()``, which reads the whole file and checks its structure
            (for PNG: every chunk and checksum, so truncated or damaged PNGs are caught). Other formats are
            only checked fully when decoded.

    Raises:
        ImageReadError: if the file is missing, not an image, or fails verification.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = Path(tempfile.mkdtemp()) / "rgb.png"
        >>> Image.new("RGB", (7, 3)).save(path)
        >>> image_size(path)
        (3, 7)
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"Cannot read image {path}: the path does not exist or is not a file.")
    try:
        with Image.open(path) as im:
            width, height = im.size
            if verify:
                im.verify()
    except UnidentifiedImageError as error:
        if path.suffix.lower() not in _TIFF_SUFFIXES:
            raise ImageReadError(f"Cannot read image {path}: {error}. The file is not an image.") from error
        height, width = read_image(path).shape[1:]  # a TIFF only tifffile reads: decode it for its size
    except Exception as error:
        raise ImageReadError(
            f"Cannot read image {path}: {type(error).__name__}: {error}. "
            "The file is not an image, or it is truncated or corrupt."
        ) from error
    return height, width


def to_float(img: Tensor) -> Tensor:
    """Convert a ``uint8`` image tensor to ``float32`` in [0, 1].

    Raises:
        ValueError: if ``img`` is not ``uint8`` (so a float image is never divided by 255 twice).

    Example:
        >>> to_float(torch.tensor([0, 51, 255], dtype=torch.uint8))
        tensor([0.0000, 0.2000, 1.0000])
    """
    if img.dtype != torch.uint8:
        raise ValueError(f"to_float expects a torch.uint8 image, got {img.dtype}.")
    return img.to(torch.float32) / 255


def list_images(folder: str | Path) -> list[Path]:
    """List the image files under ``folder``, recursively, sorted by relative path.

    A file counts as an image when its extension, in any case, is one of :data:`IMAGE_EXTENSIONS`.
    Hidden files and folders (names starting with ``.``, such as ``.ipynb_checkpoints``) are left out.

    Raises:
        FileNotFoundError: if ``folder`` does not exist, is not a folder, or holds no image file.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "sub").mkdir()
        >>> for name in ("b.PNG", "sub/a.jpg", "notes.txt"):
        ...     Image.new("RGB", (4, 4)).save(root / name, format="PNG")
        >>> [p.relative_to(root).as_posix() for p in list_images(root)]
        ['b.PNG', 'sub/a.jpg']
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"Image folder {root} {what}.")
    found = [
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]
    if not found:
        raise FileNotFoundError(
            f"Image folder {root} holds no image files (looked recursively for {', '.join(IMAGE_EXTENSIONS)})."
        )
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())
