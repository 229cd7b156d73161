"""The paper protocol: published Set5 tables, skimage agreement and known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_lightning.data import imresize
from sr_lightning.metrics.functional import psnr, psnr_y, quantize, rgb_to_y, ssim, ssim_y

# Published Set5 figures (see ../shared/benchmarks/README.md): IMDN paper and bicubic.
IMDN = {2: (38.00, 0.9605), 3: (34.36, 0.9270), 4: (32.21, 0.8948)}
BICUBIC = {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)}


def _load(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 255


def _set5(root: Path, scale: int, folder: str, suffix: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    pairs = []
    for hr_path in sorted((root / "HR").glob(f"*_SRF_{scale}_HR.png")):
        stem = hr_path.name.split("_SRF_")[0]
        other = root / folder / f"X{scale}" / f"{stem}_SRF_{scale}_{suffix}.png"
        pairs.append((_load(other), _load(hr_path)))
    assert len(pairs) == 5
    return pairs


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_imdn_outputs_reproduce_the_published_table(set5_root: Path, scale: int) -> None:
    pairs = _set5(set5_root, scale, "IMDN_SR", "IMDN")
    mean_psnr = np.mean([psnr_y(sr, hr, border=scale).item() for sr, hr in pairs])
    mean_ssim = np.mean([ssim_y(sr, hr, border=scale).item() for sr, hr in pairs])
    assert abs(mean_psnr - IMDN[scale][0]) <= 0.01
    assert abs(mean_ssim - IMDN[scale][1]) <= 0.0005


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_upscale_of_official_lr_reproduces_the_published_baseline(set5_root: Path, scale: int) -> None:
    pairs = _set5(set5_root, scale, "LR_bicubic", "LR")
    ups = [(imresize(lr, scale), hr) for lr, hr in pairs]
    mean_psnr = np.mean([psnr_y(sr, hr, border=scale).item() for sr, hr in ups])
    mean_ssim = np.mean([ssim_y(sr, hr, border=scale).item() for sr, hr in ups])
    assert abs(mean_psnr - BICUBIC[scale][0]) <= 0.03
    assert abs(mean_ssim - BICUBIC[scale][1]) <= 0.001


def test_y_channel_matches_matlab_rgb2ycbcr_coefficients() -> None:
    white, black = torch.full((1, 3, 1, 1), 255.0, dtype=torch.float64), torch.zeros(1, 3, 1, 1, dtype=torch.float64)
    assert rgb_to_y(white).item() == pytest.approx(235.0, abs=1e-3)
    assert rgb_to_y(black).item() == 16.0
    red = torch.tensor([255.0, 0, 0], dtype=torch.float64).view(1, 3, 1, 1)
    assert rgb_to_y(red).item() == pytest.approx(16 + 65.481, abs=1e-6)


def test_psnr_and_ssim_agree_with_skimage_on_rgb() -> None:
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 3, 40, 36, generator=gen)
    sr = (hr + 0.05 * torch.randn(hr.shape, generator=gen)).clamp(0, 1)
    border = 3
    ours_psnr = psnr(sr, hr, border=border, reduction="none")
    ours_ssim = ssim(sr, hr, border=border, reduction="none")
    for i in range(2):
        a = quantize(sr[i])[:, border:-border, border:-border].permute(1, 2, 0).numpy()
        b = quantize(hr[i])[:, border:-border, border:-border].permute(1, 2, 0).numpy()
        assert ours_psnr[i].item() == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-6)
        ref = structural_similarity(
            b,
            a,
            data_range=255,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        # skimage crops (win_size - 1) / 2 after filtering with padding: same 'valid' region as MATLAB.
        assert ours_ssim[i].item() == pytest.approx(ref, abs=1e-6)


def test_quantization_and_known_answers() -> None:
    hr = torch.full((1, 3, 8, 8), 100 / 255)
    assert psnr(hr + 0.4 / 255, hr).item() == float("inf")  # rounds to the same 8-bit level
    assert psnr(hr + 1 / 255, hr).item() == pytest.approx(20 * np.log10(255), abs=1e-9)
    flat = torch.full((1, 3, 16, 16), 100 / 255)
    assert ssim(flat, flat).item() == 1.0


def test_bad_input_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="border=4"):
        psnr_y(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), border=4)
    with pytest.raises(ValueError, match=r"SSIM needs at least 11x11 pixels after cropping border=2, got \(10, 10\)"):
        ssim(torch.rand(1, 3, 14, 14), torch.rand(1, 3, 14, 14), border=2)
    with pytest.raises(ValueError, match="3 RGB channels"):
        rgb_to_y(torch.rand(1, 1, 8, 8))
