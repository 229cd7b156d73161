from __future__ import annotations

import piq
import pytest
import torch

from sr_lightning.losses import MSSSIMLoss, SSIMLoss


def test_ssim_loss_is_zero_on_identical_images_and_grows_with_noise(ladder) -> None:
    hr, slightly, very = ladder
    values = [SSIMLoss()(x, hr).item() for x in (hr, slightly, very)]
    assert values[0] == pytest.approx(0.0, abs=1e-6)
    assert values[0] < values[1] < values[2] <= 1.0


@pytest.mark.parametrize("kwargs", [{}, {"kernel_size": 7, "kernel_sigma": 1.0}, {"downsample": True}])
def test_ssim_loss_equals_one_minus_piq_ssim(ladder, kwargs) -> None:
    hr, _, sr = ladder
    expected = 1.0 - piq.ssim(sr, hr, data_range=1.0, **{"downsample": False, **kwargs})
    assert SSIMLoss(**kwargs)(sr, hr).item() == pytest.approx(expected.item(), abs=1e-6)


def test_ssim_loss_clamps_overshooting_inputs_and_stops_their_gradient(ladder) -> None:
    hr, _, sr = ladder
    overshoot = sr.clone()
    overshoot[:, :, :8] += 1.5  # way above 1: piq itself would raise
    overshoot.requires_grad_(True)
    loss = SSIMLoss()(overshoot, hr)
    assert loss.item() == pytest.approx(SSIMLoss()(overshoot.detach().clamp(0, 1), hr).item(), abs=1e-6)
    loss.backward()
    above = overshoot.detach() > 1
    assert (overshoot.grad[above] == 0).all()
    assert overshoot.grad[~above].abs().sum() > 0


def test_ssim_loss_is_float32_for_bf16_inputs(ladder) -> None:
    hr, _, sr = ladder
    loss = SSIMLoss()(sr.bfloat16(), hr.bfloat16())
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(SSIMLoss()(sr.bfloat16().float(), hr.bfloat16().float()).item(), abs=1e-6)


@pytest.mark.parametrize("cls", [SSIMLoss, MSSSIMLoss])
@pytest.mark.parametrize("kwargs", [{"kernel_size": 4}, {"kernel_size": 0}, {"kernel_sigma": 0.0}])
def test_structural_losses_reject_bad_windows(cls, kwargs) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        cls(**kwargs)


def test_ssim_loss_names_the_size_of_too_small_images() -> None:
    x = torch.rand(1, 3, 8, 10)
    with pytest.raises(ValueError, match=r"kernel_size=11.*\(8, 10\)"):
        SSIMLoss()(x, x)


def test_ms_ssim_loss_is_zero_on_identical_grows_and_equals_piq(textured) -> None:
    hr = textured(size=40)
    noise = torch.randn(hr.shape, generator=torch.Generator().manual_seed(3))
    ladder = [hr, (hr + 0.05 * noise).clamp(0, 1), (hr + 0.2 * noise).clamp(0, 1)]
    loss = MSSSIMLoss(kernel_size=3)
    values = [loss(x, hr).item() for x in ladder]
    assert values[0] == pytest.approx(0.0, abs=1e-5)
    assert values[0] < values[1] < values[2]
    expected = 1.0 - piq.multi_scale_ssim(ladder[2], hr, kernel_size=3, data_range=1.0)
    assert values[2] == pytest.approx(expected.item(), abs=1e-6)


@pytest.mark.parametrize("kernel_size", [3, 11])
def test_ms_ssim_minimum_size_matches_piq_and_our_error_names_the_size(kernel_size: int) -> None:
    loss = MSSSIMLoss(kernel_size=kernel_size)
    assert loss.min_size == (kernel_size - 1) * 16 + 1
    side = loss.min_size - 1
    x = torch.rand(1, 3, side, side + 5)
    with pytest.raises(ValueError, match=f"at least {loss.min_size}x{loss.min_size}.*got {side}x{side + 5}"):
        loss(x, x)
    with pytest.raises(ValueError, match="Invalid size"):  # piq draws the line at the same place
        piq.multi_scale_ssim(x, x, kernel_size=kernel_size)
    y = torch.rand(1, 3, loss.min_size, loss.min_size)
    assert loss(y, y).item() == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("cls", [SSIMLoss, MSSSIMLoss])
def test_structural_losses_ignore_autocast_and_compute_in_float32(textured, cls) -> None:
    hr = textured(size=40)
    sr = (hr + 0.1 * torch.randn(hr.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    loss = cls(kernel_size=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(sr, hr)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(loss(sr, hr).item(), abs=1e-6)
