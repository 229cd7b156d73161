from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sr_lightning.losses import SobelEdgeLoss, sobel_magnitude


def _reference_sobel_magnitude(x: np.ndarray, eps: float) -> np.ndarray:
    """Sobel magnitude by explicit sums over an edge-padded (C, H, W) array."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge").astype(np.float64)
    h, w = x.shape[1:]

    def at(dy: int, dx: int) -> np.ndarray:
        return p[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    gx = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1)
    gy = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1)
    return np.sqrt(gx**2 + gy**2 + eps)


def test_sobel_magnitude_of_a_constant_image_is_sqrt_eps_everywhere_borders_included() -> None:
    mag = sobel_magnitude(torch.full((2, 3, 9, 7), 0.37), eps=1e-6)
    assert mag.shape == (2, 3, 9, 7)
    assert torch.allclose(mag, torch.full_like(mag, 1e-3), rtol=0, atol=1e-7)


def test_edge_loss_between_two_different_constant_images_is_zero() -> None:
    assert SobelEdgeLoss()(torch.full((1, 3, 8, 8), 0.1), torch.full((1, 3, 8, 8), 0.9)).item() == 0.0


@pytest.mark.parametrize("vertical", [True, False])
def test_sobel_magnitude_of_a_unit_step_is_four_beside_the_edge(vertical: bool) -> None:
    eps = 1e-6
    step = torch.zeros(1, 1, 8, 8)
    step[..., 4:] = 1.0  # vertical edge between columns 3 and 4
    mag = sobel_magnitude(step if vertical else step.transpose(-1, -2), eps=eps)
    if not vertical:
        mag = mag.transpose(-1, -2)
    profile = mag[0, 0]
    assert torch.allclose(profile[:, 3:5], torch.full((8, 2), math.sqrt(16 + eps)))
    flat = torch.cat([profile[:, :3], profile[:, 5:]], dim=1)
    assert torch.allclose(flat, torch.full_like(flat, math.sqrt(eps)))
    assert set(profile.argmax(dim=1).tolist()) <= {3, 4}


def test_sobel_magnitude_matches_an_explicit_reference_per_channel(textured) -> None:
    x = textured(size=12, batch=1)
    expected = _reference_sobel_magnitude(x[0].numpy(), eps=1e-6)
    assert np.allclose(sobel_magnitude(x)[0].numpy(), expected, atol=1e-5)


def test_edge_loss_is_zero_on_identical_grows_with_noise_and_sums(ladder) -> None:
    hr, slightly, very = ladder
    loss = SobelEdgeLoss()
    values = [loss(x, hr).item() for x in (hr, slightly, very)]
    assert values[0] == 0.0
    assert values[0] < values[1] < values[2]
    expected = (sobel_magnitude(very) - sobel_magnitude(hr)).abs()
    assert values[2] == pytest.approx(expected.mean().item(), rel=1e-6)
    assert SobelEdgeLoss(reduction="sum")(very, hr).item() == pytest.approx(expected.sum().item(), rel=1e-5)


def test_eps_keeps_the_gradient_finite_on_flat_images() -> None:
    flat = torch.full((1, 3, 6, 6), 0.5, requires_grad=True)
    sobel_magnitude(flat, eps=0.0).sum().backward()
    assert not torch.isfinite(flat.grad).all()  # d sqrt(u) / du is infinite at u = 0: why eps exists
    flat.grad = None
    sobel_magnitude(flat, eps=1e-6).sum().backward()
    assert torch.isfinite(flat.grad).all()


def test_edge_loss_gradient_reaches_sr_and_kernels_stay_out_of_the_state_dict(ladder) -> None:
    hr, _, very = ladder
    sr = very.clone().requires_grad_(True)
    loss = SobelEdgeLoss()
    loss(sr, hr).backward()
    assert torch.isfinite(sr.grad).all() and sr.grad.abs().sum() > 0
    assert "kernels" not in loss.state_dict()
    assert loss.kernels.tolist() == [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]], [[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]]]


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"reduction": "none"}])
def test_edge_loss_rejects_bad_arguments(kwargs) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SobelEdgeLoss(**kwargs)
