"""LAM: exact support for a known receptive field, completeness of the path integral, and the DI's known values."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from sr_lightning.explain import diffusion_index, local_attribution_map
from sr_lightning.explain.lam import _blur_path, _path_attribution
from sr_lightning.losses import sobel_magnitude
from sr_lightning.models import EDSR


def textured(size: int = 16, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    img = 0.5 + 0.3 * torch.sin(xx / 2.0 + seed) * torch.cos(yy / 3.0)
    return (img + 0.1 * torch.rand(1, 3, size, size, generator=g)).clamp(0, 1)


def conv_stack(depth: int) -> nn.Sequential:
    """``depth`` 3x3 convs (ReLU between) then PixelShuffle(2): a receptive field of 2 * depth + 1 LR pixels."""
    layers: list[nn.Module] = [nn.Conv2d(3, 16 if depth > 1 else 12, 3, padding=1)]
    for i in range(1, depth):
        layers += [nn.ReLU(), nn.Conv2d(16, 12 if i == depth - 1 else 16, 3, padding=1)]
    return nn.Sequential(*layers, nn.PixelShuffle(2))


def test_attribution_is_exactly_zero_outside_the_receptive_field_of_the_window() -> None:
    torch.manual_seed(0)
    lam = local_attribution_map(conv_stack(1), textured(16), window=(8, 8, 4), steps=20)
    # Window HR 8..11, Sobel reach HR 7..12 = LR 3..6, one 3x3 conv: LR 2..7.
    support = torch.zeros(16, 16, dtype=torch.bool)
    support[2:8, 2:8] = True
    assert lam.shape == (16, 16)
    assert torch.equal(lam != 0, support)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_larger_receptive_field_has_a_larger_diffusion_index(seed: int) -> None:
    torch.manual_seed(seed)
    small, large = conv_stack(1), conv_stack(6)
    lr = textured(24, seed)
    di_small = diffusion_index(local_attribution_map(small, lr, window=(20, 20, 8)))
    di_large = diffusion_index(local_attribution_map(large, lr, window=(20, 20, 8)))
    assert di_large > 2 * di_small  # measured: about 4 against 12-14


def test_path_integral_sums_to_the_change_of_the_target_along_the_path() -> None:
    torch.manual_seed(0)
    model, lr = conv_stack(3), textured(16, 1)
    signed = _path_attribution(model, lr, (8, 8, 8), steps=200, sigma=1.2, kernel_size=9, batch_size=50)
    path = _blur_path(lr, 1, 1.2, 9)
    assert torch.equal(path[1:], lr)  # the path ends at the image itself

    def detail(img: Tensor) -> float:
        return sobel_magnitude(model(img))[..., 8:16, 8:16].sum().item()

    assert signed.sum().item() == pytest.approx(detail(lr) - detail(path[:1]), rel=0.01)  # completeness
    lam = local_attribution_map(model, lr, (8, 8, 8), steps=200, batch_size=50)
    assert torch.allclose(lam, signed.sum(0).abs())


def test_results_do_not_depend_on_the_batch_size_and_leave_the_model_as_it_was() -> None:
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=2, n_feats=8).train()
    model.head.weight.grad = torch.ones_like(model.head.weight)
    model.body.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    lr = textured(12)
    lam = local_attribution_map(model, lr, window=(4, 4, 8), steps=12, batch_size=5)
    with torch.inference_mode():
        assert torch.allclose(local_attribution_map(model, lr.clone(), window=(4, 4, 8), steps=12), lam, atol=1e-6)
    assert all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert torch.equal(model.head.weight.grad, torch.ones_like(model.head.weight))
    assert all(p.grad is None for name, p in model.named_parameters() if name != "head.weight")


def test_bad_arguments_are_named() -> None:
    model, lr = conv_stack(1), textured(8)
    with pytest.raises(ValueError, match=r"window=\(12, 0, 8\).*16x16"):
        local_attribution_map(model, lr, window=(12, 0, 8))
    with pytest.raises(ValueError, match="one \\(1, 3, h, w\\) image"):
        local_attribution_map(model, lr.expand(2, -1, -1, -1), window=(0, 0, 4))
    with pytest.raises(ValueError, match="kernel_size=9"):
        local_attribution_map(model, textured(4), window=(0, 0, 4))
    with pytest.raises(ValueError, match="must be positive"):
        local_attribution_map(model, lr, window=(0, 0, 4), steps=0)


def test_diffusion_index_known_values() -> None:
    one_hot = torch.zeros(32, 32)
    one_hot[5, 7] = 3.0
    assert diffusion_index(one_hot) == pytest.approx(100 / 1024)
    assert diffusion_index(torch.full((32, 32), 0.2)) == pytest.approx(100.0)
    half = torch.zeros(10, 10)
    half[:, :5] = -2.0  # the sign does not matter: k of n equal pixels give 100 k / n
    assert diffusion_index(half) == pytest.approx(50.0)
    ramp = torch.arange(1.0, 5.0)  # Gini = sum((2i - n - 1) x_i) / (n sum x) = (-3 - 2 + 3 + 12) / 40 = 0.25
    assert diffusion_index(ramp) == pytest.approx(75.0)
    with pytest.raises(ValueError, match="not all zero"):
        diffusion_index(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="finite"):
        diffusion_index(torch.tensor([1.0, float("nan")]))
