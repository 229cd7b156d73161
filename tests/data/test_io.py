"""read_image conversions to 8-bit RGB, error messages that name the file, and list_images."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from sr_lightning.data import IMAGE_EXTENSIONS, ImageReadError, image_size, list_images, read_image, to_float


def _hwc(img: torch.Tensor) -> np.ndarray:
    assert img.dtype == torch.uint8 and img.dim() == 3 and img.shape[0] == 3
    return img.permute(1, 2, 0).numpy()


def _write_png16(path: Path, array: np.ndarray) -> Path:
    """A 16-bit RGB PNG (Pillow cannot write one) whose rows use the Sub and Up filters."""
    height, width, channels = array.shape
    rows = array.astype(">u2").reshape(height, -1).view(np.uint8).astype(np.int16)
    bpp = 2 * channels
    raw = b""
    for y, row in enumerate(rows):
        if y % 2 == 0:  # Sub: each byte minus the byte one pixel to the left
            filtered = row - np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
            raw += b"\x01" + (filtered % 256).astype(np.uint8).tobytes()
        else:  # Up: each byte minus the byte above
            raw += b"\x02" + ((row - rows[y - 1]) % 256).astype(np.uint8).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2 if channels == 3 else 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )
    return path


def _expected_8bit(values16: np.ndarray) -> np.ndarray:
    return np.rint(values16.astype(np.float64) / 257).astype(np.uint8)


def test_rgb_png_round_trips_exactly(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(_hwc(read_image(tmp_path / "rgb.png")), array)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [("L", 77, (77, 77, 77)), ("1", 1, (255, 255, 255)), ("LA", (90, 10), (90, 90, 90))],
)
def test_gray_modes_become_equal_channels(tmp_path: Path, mode: str, value: object, expected: tuple) -> None:
    Image.new(mode, (4, 3), value).save(tmp_path / "gray.png")
    img = _hwc(read_image(tmp_path / "gray.png"))
    assert img.shape == (3, 4, 3) and (img == expected).all()


def test_rgba_drops_alpha_without_compositing(tmp_path: Path) -> None:
    Image.new("RGBA", (4, 3), (10, 200, 30, 0)).save(tmp_path / "rgba.png")
    assert (_hwc(read_image(tmp_path / "rgba.png")) == (10, 200, 30)).all()


def test_palette_and_cmyk(tmp_path: Path) -> None:
    palette = Image.new("P", (4, 2))
    palette.putpalette([0, 0, 0, 250, 20, 5] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "p.png")
    img = _hwc(read_image(tmp_path / "p.png"))
    assert tuple(img[0, 1]) == (250, 20, 5) and tuple(img[0, 0]) == (0, 0, 0)
    Image.new("CMYK", (3, 3), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    red = _hwc(read_image(tmp_path / "cmyk.jpg")).astype(int)
    assert (red[..., 0] > 240).all() and (red[..., 1:] < 15).all()


def test_16bit_gray_png_is_rounded_not_truncated(tmp_path: Path) -> None:
    values = np.array([[0, 128, 129, 257, 385, 386, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode == "I;16"
    img = _hwc(read_image(tmp_path / "g16.png"))
    assert img[0, :, 0].tolist() == [0, 0, 1, 1, 1, 2, 255]
    assert (img == img[..., :1]).all()


def test_32bit_integer_tiff_is_a_clear_error(tmp_path: Path) -> None:
    Image.fromarray(np.array([[-5, 386, 70000]], dtype=np.int32)).save(tmp_path / "i.tif")
    with Image.open(tmp_path / "i.tif") as im:
        assert im.mode == "I"  # the mode 16-bit gray files can have too: the file's bit depth tells them apart
    with pytest.raises(ImageReadError, match=r"i\.tif: 32-bit integer samples are not supported"):
        read_image(tmp_path / "i.tif")
    import tifffile

    tifffile.imwrite(tmp_path / "u.tif", np.full((2, 3, 3), 4_000_000_000, dtype=np.uint32))
    with pytest.raises(ImageReadError, match=r"u\.tif: .*not supported"):
        read_image(tmp_path / "u.tif")


def test_16bit_rgb_png_and_tiff(tmp_path: Path) -> None:
    values = np.random.default_rng(1).integers(0, 65536, (6, 9, 3), dtype=np.uint16)
    values[0, :4, 0] = [128, 129, 385, 65535]
    np.testing.assert_array_equal(
        _hwc(read_image(_write_png16(tmp_path / "rgb16.png", values))), _expected_8bit(values)
    )
    tifffile.imwrite(tmp_path / "rgb16.tif", values, photometric="rgb")
    np.testing.assert_array_equal(_hwc(read_image(tmp_path / "rgb16.tif")), _expected_8bit(values))
    rgba = np.concatenate([values, np.zeros((6, 9, 1), np.uint16)], axis=2)
    np.testing.assert_array_equal(_hwc(read_image(_write_png16(tmp_path / "rgba16.png", rgba))), _expected_8bit(values))
    assert image_size(tmp_path / "rgb16.png") == (6, 9)


def test_float_images_are_clipped(tmp_path: Path) -> None:
    gray = np.array([[-0.5, 0.0, 0.5, 1.0, 1.7]], dtype=np.float32)
    Image.fromarray(gray, mode="F").save(tmp_path / "f.tif")
    assert _hwc(read_image(tmp_path / "f.tif"))[0, :, 1].tolist() == [0, 0, 128, 255, 255]
    rgb = np.stack([gray, gray / 2, gray * 0], axis=-1)
    tifffile.imwrite(tmp_path / "rgbf.tif", rgb, photometric="rgb")  # Pillow cannot open float RGB TIFFs; tifffile can
    assert _hwc(read_image(tmp_path / "rgbf.tif"))[0].tolist() == [
        [0, 0, 0],
        [0, 0, 0],
        [128, 64, 0],
        [255, 128, 0],
        [255, 217, 0],
    ]
    assert image_size(tmp_path / "rgbf.tif") == (1, 5)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_truncated_file_raises_naming_it(
    tmp_path: Path, write_image: Callable, truncate: Callable, suffix: str
) -> None:
    path = truncate(write_image(tmp_path / f"broken{suffix}", 40, 40))
    with pytest.raises(ImageReadError, match="broken") as info:
        read_image(path)
    assert str(path) in str(info.value) and "truncated" in str(info.value)
    assert isinstance(info.value, OSError)


def test_truncated_png_fails_verification(tmp_path: Path, write_image: Callable, truncate: Callable) -> None:
    path = truncate(write_image(tmp_path / "half.png", 40, 40))
    with pytest.raises(ImageReadError, match=str(path)):
        image_size(path)
    assert image_size(path, verify=False) == (40, 40)  # the header alone is intact


def test_not_an_image_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not pixels")
    with pytest.raises(ImageReadError, match=r"notes\.png.*not an image"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(ImageReadError, match=r"missing\.png.*does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        image_size(tmp_path / "missing.png")


def test_to_float() -> None:
    img = torch.tensor([[[0, 255, 51]]], dtype=torch.uint8)
    out = to_float(img)
    assert out.dtype == torch.float32
    assert torch.equal(out, torch.tensor([[[0.0, 1.0, 0.2]]]))
    with pytest.raises(ValueError, match=r"torch\.float32"):
        to_float(out)


def test_list_images_recursive_sorted_case_insensitive(tmp_path: Path) -> None:
    for name in ["b.PNG", "a/z.jpg", "a/y.TIFF", "c.webp", "notes.txt", ".hidden.png", ".cache/x.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [path.relative_to(tmp_path).as_posix() for path in list_images(tmp_path)]
    assert found == ["a/y.TIFF", "a/z.jpg", "b.PNG", "c.webp"]
    assert ".webp" in IMAGE_EXTENSIONS


def test_list_images_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere.*does not exist"):
        list_images(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=r"empty.*no image files"):
        list_images(tmp_path / "empty")
