"""The papers' losses, ready-made: the right terms, weights and values on fixed tensors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sr_lightning.losses import (
    AdversarialLoss,
    CharbonnierLoss,
    LPIPSLoss,
    SobelEdgeLoss,
    SSIMLoss,
    VGGPerceptualLoss,
    dwivedi_hybrid_loss,
    dwivedi_vanilla_loss,
    tyagi_msa_gan_losses,
    wu_attention_srgan_losses,
)


def test_dwivedi_vanilla_is_mse_ssim_vgg_at_1_01_01() -> None:
    loss = dwivedi_vanilla_loss(pretrained=False)
    assert loss.weights == {"mse": 1.0, "ssim": 0.1, "vgg": 0.1}
    assert isinstance(loss.terms["mse"], nn.MSELoss) and isinstance(loss.terms["ssim"], SSIMLoss)
    vgg = loss.terms["vgg"]
    assert isinstance(vgg, VGGPerceptualLoss) and vgg.criterion == "mse" and not vgg.pretrained


def test_dwivedi_hybrid_is_lpips_ssim_charbonnier_edge_at_04_03_02_01() -> None:
    loss = dwivedi_hybrid_loss(pretrained=False)
    assert loss.weights == {"lpips": 0.4, "ssim": 0.3, "charbonnier": 0.2, "edge": 0.1}
    kinds = {name: type(term) for name, term in loss.terms.items()}
    assert kinds == {"lpips": LPIPSLoss, "ssim": SSIMLoss, "charbonnier": CharbonnierLoss, "edge": SobelEdgeLoss}
    torch.manual_seed(0)
    hr = torch.rand(2, 3, 64, 64)
    sr = (hr + 0.1 * torch.randn_like(hr)).clamp(0, 1)
    total, parts = loss.compute(sr, hr)
    expected = 0.4 * parts["lpips"] + 0.3 * parts["ssim"] + 0.2 * parts["charbonnier"] + 0.1 * parts["edge"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert parts["ssim"].item() > 0 and parts["edge"].item() > 0


def test_wu_generator_loss_reproduced_on_fixed_tensors() -> None:
    recipe = wu_attention_srgan_losses()
    assert isinstance(recipe.adversarial, AdversarialLoss) and recipe.adversarial.mode == "srgan"
    sr = torch.tensor([[[[0.2, 0.4]]]])
    hr = torch.tensor([[[[0.3, 0.1]]]])
    probabilities = torch.tensor([[0.25], [0.75]])  # D(G(z)) of two images
    logits = torch.logit(probabilities)
    g_loss = recipe.content(sr, hr) + recipe.adversarial_weight * recipe.adversarial.generator_loss(logits)
    # L1 = (0.1 + 0.3) / 2 = 0.2; adversarial = mean(1 - p) = 0.5; total = 0.2 + 0.001 * 0.5.
    assert g_loss.item() == pytest.approx(0.2005, abs=1e-6)


def test_tyagi_is_mse_vgg_and_vanilla_adversarial() -> None:
    recipe = tyagi_msa_gan_losses(pretrained=False)
    assert recipe.content.weights == {"mse": 1.0, "vgg": 0.006}
    assert recipe.content.terms["vgg"].layer_weights == {"relu5_4": 1.0}
    assert recipe.adversarial.mode == "vanilla" and recipe.adversarial_weight == 1e-3
