"""MATLAB-bicubic imresize: shapes, exactness on constant and linear images, and the Set5 LR files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sr_lightning.data import imresize, read_image, to_float


def _psnr_8bit(x: torch.Tensor, reference_uint8: torch.Tensor) -> float:
    x = (x.clamp(0, 1) * 255).round()
    mse = ((x - reference_uint8.double()) ** 2).mean().item()
    return 10 * math.log10(255**2 / max(mse, 1e-12))


def _set5_pairs(root: Path, scale: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    pairs = []
    for hr_path in sorted((root / "HR").glob(f"*_SRF_{scale}_HR.png")):
        lr_path = root / "LR_bicubic" / f"X{scale}" / hr_path.name.replace("_HR.", "_LR.")
        pairs.append((to_float(read_image(hr_path)).double(), read_image(lr_path)))
    assert len(pairs) == 5
    return pairs


@pytest.mark.parametrize(
    ("shape", "scale", "expected"),
    [
        ((3, 96, 96), 1 / 4, (3, 24, 24)),
        ((3, 96, 96), 1 / 3, (3, 32, 32)),
        ((2, 3, 10, 12), 2, (2, 3, 20, 24)),
        ((1, 7, 5), 1 / 2, (1, 4, 3)),  # ceil, as MATLAB
    ],
)
def test_output_shape(shape: tuple[int, ...], scale: float, expected: tuple[int, ...]) -> None:
    assert imresize(torch.rand(shape), scale).shape == expected


def test_size_argument_and_errors() -> None:
    assert imresize(torch.rand(3, 20, 30), size=(7, 11)).shape == (3, 7, 11)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="float"):
        imresize(torch.zeros(3, 8, 8, dtype=torch.uint8), 0.5)


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 2, 3])
def test_constant_image_stays_constant(scale: float) -> None:
    img = torch.full((3, 24, 18), 0.37)
    assert torch.allclose(imresize(img, scale), torch.full_like(imresize(img, scale), 0.37), atol=1e-6)


def test_upscaled_linear_ramp_is_linear_inside() -> None:
    # Keys' cubic (a = -0.5) reproduces linear functions; output pixel x (1-based) samples u = x / 2 + 1 / 4.
    ramp = torch.arange(1, 17, dtype=torch.float64).expand(1, 8, 16)
    out = imresize(ramp, 2)
    u = torch.arange(1, 33, dtype=torch.float64) / 2 + 0.25
    inside = slice(4, -4)  # away from the symmetric padding at the borders
    assert torch.allclose(out[0, :, inside], u[inside].expand(16, -1), atol=1e-12)


def test_float64_input_keeps_dtype_and_matches_float32() -> None:
    img = torch.rand(3, 30, 30, dtype=torch.float64)
    out = imresize(img, 1 / 3)
    assert out.dtype == torch.float64
    assert torch.allclose(out.float(), imresize(img.float(), 1 / 3), atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_matches_matlab_set5_lr_files(set5_dir: Path, scale: int) -> None:
    psnrs = [_psnr_8bit(imresize(hr, 1 / scale), lr) for hr, lr in _set5_pairs(set5_dir, scale)]
    assert sum(psnrs) / len(psnrs) >= 55.5


def test_differs_from_torch_bicubic_on_upscaling() -> None:
    # torch's bicubic uses a = -0.75: on a textured image the outputs differ by several 8-bit levels.
    img = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    torch_out = F.interpolate(img, scale_factor=2, mode="bicubic", align_corners=False)
    assert (imresize(img, 2) - torch_out).abs().mean() * 255 > 2


@pytest.mark.parametrize("scale", [2, 4])
def test_torch_bicubic_would_miss_the_protocol(set5_dir: Path, scale: int) -> None:
    # Without MATLAB's antialiasing kernel, torch's downscale is >15 dB away from the official LR files.
    ours, torchs = [], []
    for hr, lr in _set5_pairs(set5_dir, scale):
        ours.append(_psnr_8bit(imresize(hr, 1 / scale), lr))
        plain = F.interpolate(hr[None], scale_factor=1 / scale, mode="bicubic", align_corners=False)[0]
        torchs.append(_psnr_8bit(plain, lr))
    assert sum(ours) / len(ours) - sum(torchs) / len(torchs) > 15
