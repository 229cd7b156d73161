from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from sr_lightning.losses import AdversarialLoss

MODES = ["vanilla", "srgan", "lsgan", "hinge", "relativistic_average"]
REAL = torch.tensor([[2.0], [0.5], [-1.0]])
FAKE = torch.tensor([[-1.5], [0.25], [1.0]])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _bce(logits: list[float], target: float) -> float:
    """Binary cross-entropy with logits, element by element, averaged."""
    return sum(-(target * math.log(_sigmoid(z)) + (1 - target) * math.log(1 - _sigmoid(z))) for z in logits) / len(
        logits
    )


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _by_hand(mode: str, real: list[float], fake: list[float]) -> tuple[float, float]:
    """(discriminator loss, generator loss) written out from the formulas in the brief, in plain Python floats."""
    if mode == "vanilla":
        return 0.5 * (_bce(real, 1) + _bce(fake, 0)), _bce(fake, 1)
    if mode == "srgan":
        p_real, p_fake = [_sigmoid(z) for z in real], [_sigmoid(z) for z in fake]
        return 1 - _mean(p_real) + _mean(p_fake), _mean([1 - p for p in p_fake])
    if mode == "lsgan":
        return 0.5 * (_mean([(r - 1) ** 2 for r in real]) + _mean([f**2 for f in fake])), 0.5 * _mean(
            [(f - 1) ** 2 for f in fake]
        )
    if mode == "hinge":
        return _mean([max(0, 1 - r) for r in real]) + _mean([max(0, 1 + f) for f in fake]), -_mean(fake)
    real_rel = [r - _mean(fake) for r in real]
    fake_rel = [f - _mean(real) for f in fake]
    return (
        0.5 * (_bce(real_rel, 1) + _bce(fake_rel, 0)),
        0.5 * (_bce(real_rel, 0) + _bce(fake_rel, 1)),
    )


@pytest.mark.parametrize("mode", MODES)
def test_losses_equal_the_formulas_computed_by_hand(mode: str) -> None:
    loss = AdversarialLoss(mode)
    d_expected, g_expected = _by_hand(mode, REAL.flatten().tolist(), FAKE.flatten().tolist())
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.generator_loss(FAKE, REAL).item() == pytest.approx(g_expected, rel=1e-6)
    assert loss(FAKE, REAL).item() == pytest.approx(g_expected, rel=1e-6)


def test_srgan_mode_reproduces_seed_003_generator_term() -> None:
    p_fake = torch.tensor([[0.1], [0.3], [0.8], [0.95]])
    logits = torch.logit(p_fake)
    adversarial = AdversarialLoss("srgan").generator_loss(logits)
    # Wu, eq. (1): g_loss = l1_loss + 0.001 * adversarial_loss, adversarial_loss = torch.mean(1 - out_labels)
    assert (0.001 * adversarial).item() == pytest.approx(0.001 * (1 - 0.1 + 1 - 0.3 + 1 - 0.8 + 1 - 0.95) / 4, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_discriminator_loss_prefers_high_real_and_low_fake_logits(mode: str) -> None:
    loss = AdversarialLoss(mode)
    high, low = torch.full((4, 1), 3.0), torch.full((4, 1), -3.0)
    assert loss.discriminator_loss(high, low) < loss.discriminator_loss(low, high)


@pytest.mark.parametrize("mode", MODES)
def test_generator_loss_decreases_as_fake_logits_rise(mode: str) -> None:
    loss = AdversarialLoss(mode)
    real = torch.zeros(4, 1)
    values = [loss.generator_loss(torch.full((4, 1), z), real).item() for z in (-2.0, 0.0, 0.9)]  # lsgan aims at 1
    assert values[0] > values[1] > values[2]


def _toy_discriminator() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 1))


@pytest.mark.parametrize("mode", MODES)
def test_generator_gradient_flows_to_fake_only(mode: str) -> None:
    disc = _toy_discriminator()
    sr = torch.rand(4, 3, 4, 4, requires_grad=True)
    hr = torch.rand(4, 3, 4, 4, requires_grad=True)
    fake, real = disc(sr), disc(hr)
    fake.retain_grad()
    AdversarialLoss(mode).generator_loss(fake, real).backward()
    assert fake.grad.abs().sum() > 0 and sr.grad.abs().sum() > 0
    assert hr.grad is None  # the real logits never carry the generator's gradient (detached when relativistic)


@pytest.mark.parametrize("mode", MODES)
def test_discriminator_gradient_reaches_its_weights(mode: str) -> None:
    disc = _toy_discriminator()
    sr, hr = torch.rand(4, 3, 4, 4), torch.rand(4, 3, 4, 4)
    AdversarialLoss(mode).discriminator_loss(disc(hr), disc(sr)).backward()
    assert disc[1].weight.grad.abs().sum() > 0


def test_relativistic_generator_loss_needs_real_logits() -> None:
    loss = AdversarialLoss("relativistic_average")
    assert loss.needs_real_for_generator
    assert not any(AdversarialLoss(m).needs_real_for_generator for m in MODES if m != "relativistic_average")
    with pytest.raises(ValueError, match="needs the real logits"):
        loss.generator_loss(FAKE)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_logits_give_float32_losses(mode: str, dtype: torch.dtype) -> None:
    loss = AdversarialLoss(mode)
    real, fake = REAL.to(dtype), FAKE.to(dtype)
    d, g = loss.discriminator_loss(real, fake), loss.generator_loss(fake, real)
    assert d.dtype == g.dtype == torch.float32
    d_expected, g_expected = _by_hand(mode, real.float().flatten().tolist(), fake.float().flatten().tolist())
    assert d.item() == pytest.approx(d_expected, rel=1e-6)
    assert g.item() == pytest.approx(g_expected, rel=1e-6)


def test_unknown_mode_is_rejected_with_the_list_of_modes() -> None:
    with pytest.raises(ValueError, match=r"\['vanilla', 'srgan', 'lsgan', 'hinge', 'relativistic_average'\].*'wgan'"):
        AdversarialLoss("wgan")
