"""Perceptual losses with random backbones (``pretrained=False``): no weight files, no network.

Loading real weights from the hub cache is tested in tests/test_hub.py.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torchvision.models import vgg19

from sr_lightning.losses import LPIPSLoss, VGGPerceptualLoss
from sr_lightning.losses.perceptual import IMAGENET_MEAN, IMAGENET_STD, VGG19_LAYER_NAMES


def _first(ladder: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """One image of each rung: VGG on a 2-core CPU costs ~0.1 s per 32x32 image up to block 3."""
    return tuple(x[:1] for x in ladder)


def _vgg(layer_weights=None, **kwargs) -> VGGPerceptualLoss:
    torch.manual_seed(0)
    return VGGPerceptualLoss(layer_weights, pretrained=False, **kwargs)


def test_vgg19_layer_names_follow_basicsr_and_match_the_torchvision_modules() -> None:
    with torch.device("meta"):
        features = vgg19().features
    assert len(VGG19_LAYER_NAMES) == len(features) == 37
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, module in zip(VGG19_LAYER_NAMES, features, strict=True):
        assert isinstance(module, kinds[name[:4]]), name
    assert VGG19_LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert VGG19_LAYER_NAMES.index("conv5_4") == 34 and VGG19_LAYER_NAMES[-1] == "pool5"


def test_vgg_loss_keeps_only_the_layers_up_to_the_deepest_requested_one() -> None:
    assert len(_vgg({"relu1_1": 1.0, "relu2_2": 1.0}).features) == 9
    assert len(_vgg().features) == 35  # default ESRGAN conv5_4
    assert _vgg().layer_weights == {"conv5_4": 1.0}


def test_vgg_loss_is_zero_on_identical_images_and_grows_with_noise(ladder) -> None:
    hr, slightly, very = _first(ladder)
    loss = _vgg({"relu1_2": 0.5, "conv2_2": 1.0, "relu3_1": 1.0})
    values = [loss(x, hr).item() for x in (hr, slightly, very)]
    assert values[0] == 0.0
    assert 0.0 < values[1] < values[2]


@pytest.mark.parametrize("criterion", ["l1", "mse"])
@pytest.mark.parametrize("use_input_norm", [True, False])
def test_vgg_loss_equals_the_weighted_feature_distances_computed_by_hand(ladder, criterion, use_input_norm) -> None:
    hr, _, sr = _first(ladder)
    loss = _vgg({"conv1_2": 0.5, "relu2_1": 2.0}, criterion=criterion, use_input_norm=use_input_norm)
    distance = nn.functional.l1_loss if criterion == "l1" else nn.functional.mse_loss
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def features(x: torch.Tensor, upto: int) -> torch.Tensor:
        x = (x - mean) / std if use_input_norm else x
        return loss.features[: upto + 1](x)

    conv1_2, relu2_1 = features(sr, 2), features(sr, 6)
    assert conv1_2.min() < 0 and relu2_1.min() == 0  # a conv name is the pre-activation output
    expected = 0.5 * distance(conv1_2, features(hr, 2)) + 2.0 * distance(relu2_1, features(hr, 6))
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-5)


def test_vgg_loss_rejects_unknown_layers_listing_the_valid_names() -> None:
    with pytest.raises(ValueError, match=r"\['relu6_1'\].*conv1_1.*relu5_4.*pool5"):
        VGGPerceptualLoss({"relu6_1": 1.0, "relu1_1": 1.0}, pretrained=False)
    with pytest.raises(ValueError, match="at least one layer"):
        VGGPerceptualLoss({}, pretrained=False)
    with pytest.raises(ValueError, match="relu1_1"):
        VGGPerceptualLoss({"relu1_1": float("nan")}, pretrained=False)
    with pytest.raises(ValueError, match="criterion"):
        VGGPerceptualLoss(criterion="l2", pretrained=False)


def test_vgg_loss_is_frozen_stays_in_eval_and_passes_gradient_to_sr_only(ladder) -> None:
    hr, _, very = _first(ladder)
    loss = _vgg({"relu2_2": 1.0})
    loss.train()
    assert loss.training and not loss.features.training
    assert not any(m.training for m in loss.features.modules())
    assert not any(p.requires_grad for p in loss.parameters())
    assert all(not m.inplace for m in loss.features.modules() if isinstance(m, nn.ReLU))
    sr, hr = very.clone().requires_grad_(True), hr.clone().requires_grad_(True)
    loss(sr, hr).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert hr.grad is None  # HR features are computed under no_grad
    assert all(p.grad is None for p in loss.parameters())


def test_vgg_loss_normalization_constants_are_not_saved() -> None:
    loss = _vgg({"relu1_1": 1.0})
    assert set(loss.state_dict()) == {"features.0.weight", "features.0.bias"}
    assert torch.allclose(loss.mean.flatten(), torch.tensor(IMAGENET_MEAN))


@pytest.mark.parametrize("net", ["squeeze", "alex"])
def test_lpips_loss_is_zero_on_identical_images_and_grows_with_noise(ladder, net: str) -> None:
    hr, slightly, very = ladder
    torch.manual_seed(0)
    loss = LPIPSLoss(net=net, pretrained=False)
    values = [loss(x, hr).item() for x in (hr, slightly, very)]
    assert values[0] == 0.0
    assert 0.0 < values[1] < values[2]


def test_lpips_loss_maps_unit_images_to_minus_one_one_and_averages_the_batch(ladder) -> None:
    hr, _, sr = ladder
    loss = LPIPSLoss(net="squeeze", pretrained=False)
    per_image = loss.lpips(2 * sr - 1, 2 * hr - 1)
    assert per_image.shape == (2, 1, 1, 1)
    assert loss(sr, hr).item() == pytest.approx(per_image.mean().item(), rel=1e-6)
    assert loss(sr[:1], hr[:1]).item() == pytest.approx(per_image[0].item(), rel=1e-5)


def test_lpips_loss_is_frozen_and_stays_in_eval_while_gradient_reaches_sr(ladder) -> None:
    hr, _, very = ladder
    loss = LPIPSLoss(net="squeeze", pretrained=False).train()
    assert loss.training and not any(m.training for m in loss.lpips.modules())
    assert not any(p.requires_grad for p in loss.parameters())
    sr = very.clone().requires_grad_(True)
    loss(sr, hr).backward()
    assert sr.grad.abs().sum() > 0


def test_lpips_loss_silences_torchvision_warnings_only_locally() -> None:
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LPIPSLoss(net="squeeze", pretrained=False)
    assert not [w for w in caught if "pretrained" in str(w.message) or "weight enum" in str(w.message)]
    assert warnings.filters == filters_before


def test_lpips_loss_rejects_unknown_nets() -> None:
    with pytest.raises(ValueError, match=r"\['alex', 'vgg', 'squeeze'\].*'resnet'"):
        LPIPSLoss(net="resnet", pretrained=False)
