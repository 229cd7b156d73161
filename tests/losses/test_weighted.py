from __future__ import annotations

import math

import pytest
import torch
from jsonargparse import ArgumentParser
from torch import nn

from sr_lightning.losses import CharbonnierLoss, SobelEdgeLoss, SSIMLoss, WeightedLoss

YAML = """
loss:
  class_path: sr_lightning.losses.WeightedLoss
  init_args:
    terms:
      mse: {class_path: torch.nn.MSELoss}
      ssim: {class_path: sr_lightning.losses.SSIMLoss}
    weights: {mse: 1.0, ssim: 0.1}
"""


def _hybrid(**weights: float) -> WeightedLoss:
    terms = {"ssim": SSIMLoss(), "charbonnier": CharbonnierLoss(), "edge": SobelEdgeLoss()}
    return WeightedLoss(terms, weights)


def test_total_equals_the_sum_of_the_weighted_terms_computed_separately(ladder) -> None:
    hr, _, sr = ladder
    loss = _hybrid(ssim=0.3, charbonnier=0.2, edge=0.1)
    total, parts = loss.compute(sr, hr)
    separately = {"ssim": SSIMLoss()(sr, hr), "charbonnier": CharbonnierLoss()(sr, hr), "edge": SobelEdgeLoss()(sr, hr)}
    assert parts.keys() == separately.keys()
    for name, value in separately.items():
        assert parts[name].item() == pytest.approx(value.item(), rel=1e-6)  # returned unweighted
    expected = 0.3 * separately["ssim"] + 0.2 * separately["charbonnier"] + 0.1 * separately["edge"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-6)


def test_missing_weights_default_to_one(ladder) -> None:
    hr, _, sr = ladder
    loss = _hybrid(edge=2.0)
    assert loss.weights == {"ssim": 1.0, "charbonnier": 1.0, "edge": 2.0}
    expected = SSIMLoss()(sr, hr) + CharbonnierLoss()(sr, hr) + 2.0 * SobelEdgeLoss()(sr, hr)
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-6)


class _MustNotRun(nn.Module):
    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        raise AssertionError("a zero-weight term was computed")


def test_zero_weight_term_is_neither_computed_nor_returned(ladder) -> None:
    hr, _, sr = ladder
    loss = WeightedLoss({"l1": nn.L1Loss(), "off": _MustNotRun()}, weights={"off": 0.0})
    total, parts = loss.compute(sr, hr)
    assert list(parts) == ["l1"]
    assert total.item() == pytest.approx(nn.L1Loss()(sr, hr).item())


def test_gradient_flows_through_the_total(ladder) -> None:
    hr, _, very = ladder
    sr = very.clone().requires_grad_(True)
    _hybrid(ssim=0.3, charbonnier=0.2, edge=0.1)(sr, hr).backward()
    assert sr.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("terms", "weights", "match"),
    [
        ({}, None, "at least one term"),
        ({"l1": nn.L1Loss()}, {"l2": 1.0}, r"\['l2'\].*\['l1'\]"),
        ({"l1": nn.L1Loss()}, {"l1": math.inf}, "'l1'.*finite"),
        ({"l1": nn.L1Loss()}, {"l1": math.nan}, "'l1'.*finite"),
        ({"l1": nn.L1Loss(), "mse": nn.MSELoss()}, {"l1": 0.0, "mse": 0.0}, "every weight"),
    ],
)
def test_bad_terms_or_weights_are_rejected_by_name(terms, weights, match) -> None:
    with pytest.raises(ValueError, match=match):
        WeightedLoss(terms, weights)


def test_repr_shows_the_weights() -> None:
    assert "weights={'ssim': 0.3, 'charbonnier': 0.2, 'edge': 0.1}" in repr(
        _hybrid(ssim=0.3, charbonnier=0.2, edge=0.1)
    )


def test_built_from_yaml_through_jsonargparse(ladder) -> None:
    parser = ArgumentParser()
    parser.add_argument("--loss", type=nn.Module)
    cfg = parser.parse_string(YAML)
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    loss = instantiate(cfg).loss
    assert isinstance(loss, WeightedLoss)
    assert loss.weights == {"mse": 1.0, "ssim": 0.1}
    assert isinstance(loss.terms["mse"], nn.MSELoss) and isinstance(loss.terms["ssim"], SSIMLoss)
    hr, _, sr = ladder
    expected = nn.MSELoss()(sr, hr) + 0.1 * SSIMLoss()(sr, hr)
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-6)
