"""The loss functions of the papers the configs reproduce, ready-made: each returns the exact terms and weights.

The pixel-only recipes are :class:`WeightedLoss` instances for :class:`~sr_lightning.lit.SRModule`; the adversarial
ones are :class:`GANLosses` (content loss, adversarial loss and its weight) for the GAN module. The YAML recipes in
``examples/configs`` spell out the same terms and weights, and a test keeps the two in step.

``pretrained=False`` gives the perceptual networks random weights, for tests and smoke runs only.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import nn

from sr_lightning.losses.adversarial import AdversarialLoss
from sr_lightning.losses.edge import SobelEdgeLoss
from sr_lightning.losses.perceptual import LPIPSLoss, VGGPerceptualLoss
from sr_lightning.losses.pixel import CharbonnierLoss
from sr_lightning.losses.structural import SSIMLoss
from sr_lightning.losses.weighted import WeightedLoss

__all__ = [
    "GANLosses",
    "dwivedi_hybrid_loss",
    "dwivedi_vanilla_loss",
    "tyagi_msa_gan_losses",
    "wu_attention_srgan_losses",
]


class GANLosses(NamedTuple):
    """What an adversarial recipe needs: ``content(sr, hr) + adversarial_weight * adversarial.generator_loss(...)``."""

    content: WeightedLoss
    adversarial: AdversarialLoss
    adversarial_weight: float


def dwivedi_vanilla_loss(pretrained: bool = True) -> WeightedLoss:
    """Dwivedi et al.'s vanilla loss: ``1.0 MSE + 0.1 (1 - SSIM) + 0.1 VGG`` (VGG: squared L2 of VGG19 features).

    The paper does not name the VGG layer; ESRGAN's ``conv5_4`` (before the activation) is used.

    Example:
        >>> dwivedi_vanilla_loss(pretrained=False).weights
        {'mse': 1.0, 'ssim': 0.1, 'vgg': 0.1}
    """
    terms = {
        "mse": nn.MSELoss(),
        "ssim": SSIMLoss(),
        "vgg": VGGPerceptualLoss({"conv5_4": 1.0}, criterion="mse", pretrained=pretrained),
    }
    return WeightedLoss(terms, weights={"mse": 1.0, "ssim": 0.1, "vgg": 0.1})


def dwivedi_hybrid_loss(pretrained: bool = True) -> WeightedLoss:
    """Dwivedi et al.'s hybrid loss: ``0.4 LPIPS + 0.3 (1 - SSIM) + 0.2 Charbonnier + 0.1 Sobel edge``.

    LPIPS uses AlexNet (the paper does not name the backbone; AlexNet is the ``lpips`` default); Charbonnier's
    epsilon is 1e-3.

    Example:
        >>> dwivedi_hybrid_loss(pretrained=False).weights
        {'lpips': 0.4, 'ssim': 0.3, 'charbonnier': 0.2, 'edge': 0.1}
    """
    terms = {
        "lpips": LPIPSLoss(net="alex", pretrained=pretrained),
        "ssim": SSIMLoss(),
        "charbonnier": CharbonnierLoss(eps=1e-3),
        "edge": SobelEdgeLoss(),
    }
    return WeightedLoss(terms, weights={"lpips": 0.4, "ssim": 0.3, "charbonnier": 0.2, "edge": 0.1})


def wu_attention_srgan_losses() -> GANLosses:
    """Wu's generator loss ``L1 + 0.001 * mean(1 - D(G(z)))``, D giving probabilities (the ``srgan`` form).

    Example:
        >>> recipe = wu_attention_srgan_losses()
        >>> recipe.content.weights, recipe.adversarial.mode, recipe.adversarial_weight
        ({'l1': 1.0}, 'srgan', 0.001)
    """
    return GANLosses(WeightedLoss({"l1": nn.L1Loss()}), AdversarialLoss(mode="srgan"), 1e-3)


def tyagi_msa_gan_losses(pretrained: bool = True) -> GANLosses:
    """Tyagi's combined loss: MSE + VGG perceptual + adversarial.

    The thesis names the three terms but not their weights; SRGAN's are used (Ledig et al. 2017): MSE 1.0, VGG19
    ``relu5_4`` features (``phi_5,4``) with squared L2 at 0.006 (SRGAN's 1/12.75 rescaling of the features, as a
    weight), and the vanilla (BCE) adversarial loss at 0.001.

    Example:
        >>> recipe = tyagi_msa_gan_losses(pretrained=False)
        >>> recipe.content.weights, recipe.adversarial.mode, recipe.adversarial_weight
        ({'mse': 1.0, 'vgg': 0.006}, 'vanilla', 0.001)
    """
    terms = {"mse": nn.MSELoss(), "vgg": VGGPerceptualLoss({"relu5_4": 1.0}, criterion="mse", pretrained=pretrained)}
    content = WeightedLoss(terms, weights={"mse": 1.0, "vgg": 0.006})
    return GANLosses(content, AdversarialLoss(mode="vanilla"), 1e-3)
