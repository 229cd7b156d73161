"""Upscaling tensors and images: tiles equal the whole image, every image mode comes back as itself, 8-bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from sr_lightning.data import imresize
from sr_lightning.data.io import to_float
from sr_lightning.inference import self_ensemble, upscale_image, upscale_tensor
from sr_lightning.models import EDSR


@pytest.fixture(scope="module")
def net() -> EDSR:
    """1 block, 8 features: a receptive field of about 6 LR pixels, inside overlap / 2 = 8."""
    torch.manual_seed(0)
    return EDSR(scale=2, n_resblocks=1, n_feats=8).eval()


def _rgb(height: int = 45, width: int = 70, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _model_levels(net: EDSR, rgb: np.ndarray, gray: bool = False) -> np.ndarray:
    """The untiled model output as 8-bit levels (H, W, 3), or the mean of its channels for gray (H, W)."""
    with torch.no_grad():
        sr = net(to_float(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))[None])[0]
    sr = sr.mean(dim=0, keepdim=True) if gray else sr
    levels = (sr.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return levels[..., 0] if gray else levels


def _assert_levels_close(out: Image.Image, expected: np.ndarray) -> None:
    """Equal 8-bit levels, up to one level where a float difference of ~1e-6 tips the rounding."""
    diff = np.abs(np.asarray(out).astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_tiles_give_the_untiled_model_output(net: EDSR) -> None:
    rgb = _rgb(50, 60)
    lr = to_float(torch.from_numpy(rgb).permute(2, 0, 1))[None]
    whole = upscale_tensor(net, lr, tile=None)
    tiled = upscale_tensor(net, lr, tile=32, overlap=16)  # 2 x 2 tiles
    assert tiled.shape == (1, 3, 100, 120)
    assert (tiled - whole).abs().max().item() < 1e-4
    out = upscale_image(net, Image.fromarray(rgb), tile=32, overlap=16)
    assert out.mode == "RGB" and out.size == (120, 100)
    _assert_levels_close(out, _model_levels(net, rgb))
    # Too little context: the cut edges show, so the agreement above is not a given.
    short = np.asarray(upscale_image(net, Image.fromarray(rgb), tile=32, overlap=2)).astype(int)
    assert np.abs(short - _model_levels(net, rgb)).max() > 2


class _Nearest(nn.Module):
    """A parameter-free "generator": nearest-neighbour x2."""

    scale = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")


def test_progress_counts_every_tile_of_every_ensemble_pass() -> None:
    calls: list[tuple[int, int]] = []
    lr = torch.rand(1, 3, 40, 30)
    out = upscale_tensor(_Nearest(), lr, tile=16, self_ensemble=True, progress=lambda *c: calls.append(c))
    assert calls == [(i, 48) for i in range(1, 49)]  # 3 x 2 tiles, 8 passes
    assert torch.allclose(out, F.interpolate(lr, scale_factor=2, mode="nearest"))


def test_self_ensemble_equals_the_eight_passes_by_hand(net: EDSR) -> None:
    rgb = _rgb(20, 28, seed=1)
    lr = to_float(torch.from_numpy(rgb).permute(2, 0, 1))[None]
    with torch.no_grad():
        expected = self_ensemble(net, lr)[0]
    levels = (expected.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    _assert_levels_close(upscale_image(net, Image.fromarray(rgb), tile=20, self_ensemble=True), levels)  # 2 tiles


def test_gray_stays_gray(net: EDSR) -> None:
    gray = _rgb(24, 30)[..., 0]
    out = upscale_image(net, Image.fromarray(gray))
    assert out.mode == "L" and out.size == (60, 48)
    _assert_levels_close(out, _model_levels(net, np.repeat(gray[..., None], 3, axis=2), gray=True))


def test_sixteen_bit_images_come_out_as_the_eight_bit_images_would(net: EDSR, tmp_path: Path) -> None:
    gray = _rgb(24, 30)[..., 0]
    path = tmp_path / "deep.png"
    Image.fromarray(gray.astype(np.uint16) * 257).save(path)  # level k is 257 k in 16 bits
    assert Image.open(path).mode == "I;16"
    out = upscale_image(net, path)
    assert out.mode == "L"
    assert np.array_equal(np.asarray(out), np.asarray(upscale_image(net, Image.fromarray(gray))))
    # 16-bit RGBA: alpha 51500 is level round(51500 / 257) = 200, not Pillow's high byte 201.
    rgba = np.dstack([gray.astype(np.uint16) * 257] * 3 + [np.full_like(gray, 51500, dtype=np.uint16)])
    tifffile.imwrite(tmp_path / "deep.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    out = upscale_image(net, tmp_path / "deep.tif")
    assert out.mode == "RGBA" and set(np.asarray(out)[..., 3].ravel()) == {200}


def test_alpha_is_upscaled_by_bicubic_and_colour_by_the_model(net: EDSR) -> None:
    rgb = _rgb(20, 26)
    alpha = np.tile(np.linspace(0, 255, 26).round().astype(np.uint8), (20, 1))
    out = upscale_image(net, Image.fromarray(np.dstack([rgb, alpha])))
    assert out.mode == "RGBA" and out.size == (52, 40)
    bicubic = imresize(to_float(torch.from_numpy(alpha))[None, None], 2)[0, 0]
    expected_alpha = (bicubic.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(out)[..., 3], expected_alpha)
    _assert_levels_close(out.convert("RGB"), _model_levels(net, rgb))
    gray_alpha = upscale_image(net, Image.new("LA", (10, 8), (90, 200)))
    assert gray_alpha.mode == "LA" and set(np.asarray(gray_alpha)[..., 1].ravel()) == {200}


@pytest.mark.parametrize("mode", ["P", "CMYK"])
def test_other_colour_modes_are_upscaled_as_rgb(net: EDSR, mode: str) -> None:
    image = Image.fromarray(_rgb(18, 22)).convert(mode)
    out = upscale_image(net, image)
    assert out.mode == "RGB" and out.size == (44, 36)
    _assert_levels_close(out, _model_levels(net, np.asarray(image.convert("RGB"))))


def test_tensors_and_files_give_the_same_image(net: EDSR, tmp_path: Path) -> None:
    rgb = _rgb(16, 20)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    reference = np.asarray(upscale_image(net, Image.fromarray(rgb)))
    chw = torch.from_numpy(rgb).permute(2, 0, 1)
    for image in (tmp_path / "a.png", chw, to_float(chw)):
        assert np.array_equal(np.asarray(upscale_image(net, image)), reference)


def test_wrong_scale_and_shapes_are_clear_errors(net: EDSR) -> None:
    with pytest.raises(ValueError, match=r"upscales x2, not x4; load it with load_generator\(path, scale=4\)"):
        upscale_image(net, Image.new("RGB", (8, 8)), scale=4)
    with pytest.raises(ValueError, match=r"must be \(3, H, W\) RGB, got shape \(1, 8, 8\)"):
        upscale_image(net, torch.rand(1, 8, 8))
