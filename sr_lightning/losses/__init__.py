"""Losses for super-resolution. Pure torch: nothing here imports Lightning.

Every loss is called as ``loss(sr, hr)`` on float images in ``[0, 1]`` of shape (B, 3, H, W) and returns a scalar,
except :class:`AdversarialLoss`, which works on discriminator logits. L1 and MSE come from torch
(``torch.nn.L1Loss``, ``torch.nn.MSELoss``) and are chosen in YAML by class path; :class:`WeightedLoss` combines
named terms with weights (Dwivedi et al.'s vanilla loss MSE + SSIM + VGG, and their hybrid loss LPIPS + SSIM +
Charbonnier + Sobel edge). Pretrained perceptual networks load from the torch hub cache; ``pretrained=False``
gives random ones.
"""

from sr_lightning.losses.adversarial import AdversarialLoss
from sr_lightning.losses.edge import SobelEdgeLoss, sobel_magnitude
from sr_lightning.losses.perceptual import LPIPSLoss, VGGPerceptualLoss
from sr_lightning.losses.pixel import CharbonnierLoss
from sr_lightning.losses.recipes import (
    GANLosses,
    dwivedi_hybrid_loss,
    dwivedi_vanilla_loss,
    tyagi_msa_gan_losses,
    wu_attention_srgan_losses,
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
    "dwivedi_hybrid_loss",
    "dwivedi_vanilla_loss",
    "sobel_magnitude",
    "tyagi_msa_gan_losses",
    "wu_attention_srgan_losses",
]

# The former names of the paper recipes (by the project's internal seed numbers), kept for one release.
_DEPRECATED = {
    "seed000_losses": "tyagi_msa_gan_losses",
    "seed002_hybrid_loss": "dwivedi_hybrid_loss",
    "seed002_vanilla_loss": "dwivedi_vanilla_loss",
    "seed003_losses": "wu_attention_srgan_losses",
}


def __getattr__(name: str):
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"sr_lightning.losses.{name} is deprecated; use {new}.", DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
