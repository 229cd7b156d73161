"""Grad-CAM / HiResCAM: detail lights up the textured half, known answers on a linear model, and no side effects."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_lightning.explain import grad_cam, overlay
from sr_lightning.models import EDSR, SRResNet

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


class NearestUp(nn.Module):
    """A 1x1 identity conv named ``body``, then nearest x2: every SR pixel is one LR pixel, so answers are exact."""

    scale = 2

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Conv2d(3, 3, 1, bias=False)
        with torch.no_grad():
            self.body.weight.copy_(torch.eye(3).view(3, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(self.body(x), scale_factor=2, mode="nearest")


def half_flat(seed: int, size: int = 32, flat_left: bool = True) -> Tensor:
    """Flat grey on one half, uniform noise on the other."""
    img = torch.full((1, 3, size, size), 0.5)
    noise = torch.rand(1, 3, size, size // 2, generator=torch.Generator().manual_seed(seed))
    img[..., size // 2 :] = noise
    return img if flat_left else img.flip(-1)


def hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


@pytest.mark.parametrize("family", [EDSR, SRResNet])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_edge_energy_heatmap_is_higher_on_the_textured_half(family: type[nn.Module], seed: int) -> None:
    torch.manual_seed(seed)
    model = family(scale=2, n_resblocks=2, n_feats=8)
    for flat_left in (True, False):
        cam = grad_cam(model, half_flat(seed, flat_left=flat_left))
        flat, textured = (cam[..., :16], cam[..., 16:]) if flat_left else (cam[..., 16:], cam[..., :16])
        assert textured.mean() > 1.5 * flat.mean()  # measured: >= 6.5x for EDSR, >= 2x for SRResNet


def test_luminance_of_a_region_lights_exactly_the_lr_pixels_under_it() -> None:
    cam = grad_cam(NearestUp(), torch.full((1, 3, 8, 8), 0.6), target="luminance", region=(1, 4, 6, 10))
    expected = torch.zeros(8, 8)
    expected[1:3, 2:5] = 1.0  # SR rows 2..5 and cols 4..9 cover these LR pixels fully
    expected[0, 2:5] = 0.5  # SR row 1 covers half of LR row 0
    assert torch.allclose(cam[0, 0], expected)


def test_standard_gradcam_spreads_a_region_score_over_the_whole_image() -> None:
    lr = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    cam = grad_cam(NearestUp(), lr, target="luminance", region=(0, 0, 4, 4), method="gradcam")
    luma = (lr * LUMA).sum(1, keepdim=True)  # its weights are spatial means: the map is the input's luminance
    assert torch.allclose(cam, luma / luma.amax(dim=(1, 2, 3), keepdim=True), atol=1e-6)


def test_a_region_score_is_zero_beyond_the_tail_receptive_field() -> None:
    torch.manual_seed(0)
    lr = torch.rand(1, 3, 24, 24)
    cam = grad_cam(EDSR(scale=2, n_resblocks=2, n_feats=8), lr, target="luminance", region=(0, 0, 8, 8))
    # SR 0..7 <- 3x3 tail conv: SR 0..8 <- LR 0..4 <- 3x3 upsampler conv: LR 0..5.
    assert cam[..., 6:, :].abs().max() == 0 and cam[..., :, 6:].abs().max() == 0
    assert cam[..., :6, :6].amax() == 1.0


def test_maps_are_in_unit_range_per_image_and_an_all_zero_map_stays_zero() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=2, n_feats=8)
    lr = torch.rand(2, 3, 12, 12)
    cam = grad_cam(model, lr)
    assert cam.shape == (2, 1, 12, 12) and cam.min() >= 0
    assert torch.equal(cam.amax(dim=(1, 2, 3)), torch.ones(2))
    assert torch.allclose(cam[1:], grad_cam(model, lr[1:]), atol=1e-5)  # normalized per image
    zero = grad_cam(NearestUp(), torch.zeros(1, 3, 6, 6), target="luminance")  # activation 0 -> map 0, no NaN
    assert torch.equal(zero, torch.zeros(1, 1, 6, 6))


def test_layer_by_name_default_and_unknown_names() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=2, n_feats=8)
    lr = torch.rand(1, 3, 10, 10)
    assert torch.equal(grad_cam(model, lr), grad_cam(model, lr, layer="body.2"))  # the last conv of the body
    assert not torch.allclose(grad_cam(model, lr, layer="head"), grad_cam(model, lr))
    with pytest.raises(ValueError, match=r"layer='bodyy' is not a module of EDSR.*'body\.0\.body\.0'"):
        grad_cam(model, lr, layer="bodyy")
    with pytest.raises(ValueError, match=r"has no `body`.*\['0'\]"):
        grad_cam(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)), lr)
    with pytest.raises(ValueError, match="target must be"):
        grad_cam(model, lr, target="edges")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be"):
        grad_cam(model, lr, method="scorecam")  # type: ignore[arg-type]


def test_hooks_modes_and_gradients_are_left_as_they_were_even_after_an_error() -> None:
    torch.manual_seed(0)
    model = SRResNet(scale=2, n_resblocks=2, n_feats=8, batch_norm=True).train()
    model.body[0].eval()  # mixed modes must survive
    model.head.requires_grad_(False)
    model.tail.weight.grad = torch.full_like(model.tail.weight, 3.0)
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    stats = model.body[0].body[1].running_mean.clone()
    hooks = hook_count(model)
    lr = torch.rand(1, 3, 8, 8)
    grad_cam(model, lr)
    with pytest.raises(ValueError, match=r"region=\(0, 0, 99, 4\)"):
        grad_cam(model, lr, target="luminance", region=(0, 0, 99, 4))
    assert hook_count(model) == hooks
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert torch.equal(model.tail.weight.grad, torch.full_like(model.tail.weight, 3.0))
    assert all(p.grad is None for name, p in model.named_parameters() if name != "tail.weight")
    assert torch.equal(model.body[0].body[1].running_mean, stats)  # ran in eval mode: BatchNorm untouched
    assert not lr.requires_grad


def test_same_maps_under_inference_mode_and_no_grad() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=2, n_feats=8).requires_grad_(False)  # frozen, like an EMA copy
    lr = torch.rand(1, 3, 10, 10)
    expected = grad_cam(model, lr)
    with torch.inference_mode():
        inference_lr = lr.clone()
        assert torch.allclose(grad_cam(model, inference_lr), expected)
    with torch.no_grad():
        assert torch.allclose(grad_cam(model, lr), expected)


def test_overlay_colours_are_a_jet_map_blended_with_the_image() -> None:
    heat = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    colours = overlay(torch.zeros(1, 3, 1, 3), heat, alpha=1.0)[0, :, 0].T
    assert torch.allclose(colours, torch.tensor([[0.0, 0.0, 0.5], [0.5, 1.0, 0.5], [0.5, 0.0, 0.0]]))
    image = torch.rand(2, 3, 8, 6)
    assert torch.equal(overlay(image, torch.rand(2, 1, 4, 3), alpha=0.0), image)
    assert overlay(image, torch.rand(2, 1, 4, 3)).shape == (2, 3, 8, 6)  # heatmap resized to the image
    with pytest.raises(ValueError, match="alpha must be in"):
        overlay(image, torch.rand(2, 1, 4, 3), alpha=1.5)
    with pytest.raises(ValueError, match="batch sizes differ"):
        overlay(image, torch.rand(1, 1, 4, 3))


def test_saturation_divides_by_the_quantile_and_clips() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=1, n_feats=8)
    lr = torch.rand(1, 3, 20, 20)
    plain = grad_cam(model, lr)
    saturated = grad_cam(model, lr, saturation=0.05)
    # The same map divided by its 95th percentile instead of its maximum, clipped at 1.
    quantile = torch.quantile(plain.flatten(), 0.95)
    assert torch.allclose(saturated, (plain / quantile).clamp(0, 1), atol=1e-6)
    assert (saturated == 1).float().mean().item() == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="saturation must be in"):
        grad_cam(model, lr, saturation=1.0)
