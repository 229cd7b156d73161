"""Losses for super-resolution. Pure torch: nothing here imports Lightning.

Every loss is called as ``loss(sr, hr)`` on float images in ``[0, 1]`` of shape (B, 3, H, W) and returns a scalar,
except :class:`AdversarialLoss`, which works on discriminator logits. L1 and MSE come from torch
(``torch.nn.L1Loss``, ``torch.nn.MSELoss``) and are chosen in YAML by class path; :class:`WeightedLoss` combines
named terms with weights (seed 002's vanilla loss MSE + SSIM + VGG, and its hybrid loss LPIPS + SSIM + Charbonnier +
Sobel edge). Pretrained perceptual networks load from the torch hub cache; ``pretrained=False`` gives random ones.
"""

from sr_lightning.losses.adversarial import AdversarialLoss
from sr_lightning.losses.edge import SobelEdgeLoss, sobel_magnitude
from sr_lightning.losses.perceptual import LPIPSLoss, VGGPerceptualLoss
from sr_lightning.losses.pixel import CharbonnierLoss
from sr_lightning.losses.recipes import (
    GANLosses,
    seed000_losses,
    seed002_hybrid_loss,
    seed002_vanilla_loss,
    seed003_losses,
)
from sr_lightning.losses.structural import MSSSIMLoss, SSIMLoss
from sr_lightning.losses.weighted import WeightedLoss

__all__ = [
    "AdversarialLoss",
    "CharbonnierLoss",
    "GANLosses",
    "LPIPSLoss",
    "MSSSIMLoss",
    "SSIMLoss",
    "SobelEdgeLoss",
    "VGGPerceptualLoss",
    "WeightedLoss",
    "seed000_losses",
    "seed002_hybrid_loss",
    "seed002_vanilla_loss",
    "seed003_losses",
    "sobel_magnitude",
]
