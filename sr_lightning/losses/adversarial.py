"""Adversarial losses for SR GANs, on the discriminator's raw logits.

One class, five formulations picked by ``mode``. Each gives the generator's and the discriminator's loss from the
discriminator's logits of real (HR) and fake (SR) images, shape (B, 1). The GAN LightningModule calls
``discriminator_loss(D(hr), D(sr.detach()))`` in its discriminator step and ``generator_loss(D(sr), D(hr))`` in its
generator step; the weight of the adversarial term (1e-3 in SRGAN and Wu, 5e-3 in ESRGAN) is set there.
Losses are computed in float32, so fp16/bf16 logits under autocast are safe.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AdversarialLoss"]

AdversarialMode = Literal["vanilla", "srgan", "lsgan", "hinge", "relativistic_average"]
_MODES: tuple[str, ...] = get_args(AdversarialMode)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, logits.new_full(logits.shape, target))


class AdversarialLoss(nn.Module):
    """GAN losses from discriminator logits; ``forward`` is :meth:`generator_loss`.

    Modes (``r``, ``f``: logits of real and fake images; ``BCE(x, t)``: binary cross-entropy with logits):

    - ``"vanilla"`` (Goodfellow et al. 2014, non-saturating): D = ``(BCE(r, 1) + BCE(f, 0)) / 2``,
      G = ``BCE(f, 1)``.
    - ``"srgan"`` (Wu and the leftthomas SRGAN code, on probabilities ``p = sigmoid(logits)``):
      D = ``1 - mean(p_r) + mean(p_f)``, G = ``mean(1 - p_f)``.
    - ``"lsgan"`` (Mao et al. 2017): D = ``(mean((r - 1)^2) + mean(f^2)) / 2``, G = ``mean((f - 1)^2) / 2``.
    - ``"hinge"`` (Lim & Ye 2017; SAGAN): D = ``mean(relu(1 - r)) + mean(relu(1 + f))``, G = ``-mean(f)``.
    - ``"relativistic_average"`` (Jolicoeur-Martineau 2018; ESRGAN, Wang et al. 2018):
      D = ``(BCE(r - mean(f), 1) + BCE(f - mean(r), 0)) / 2``,
      G = ``(BCE(r - mean(f), 0) + BCE(f - mean(r), 1)) / 2`` with ``r`` detached; G needs the real logits.

    Args:
        mode: one of the formulations above.

    Raises:
        ValueError: an unknown ``mode`` (the message lists the valid ones).

    Example:
        >>> import torch
        >>> loss = AdversarialLoss("srgan")
        >>> round(loss.generator_loss(torch.zeros(4, 1)).item(), 4)  # sigmoid(0) = 0.5
        0.5
        >>> AdversarialLoss("relativistic_average").needs_real_for_generator
        True
    """

    def __init__(self, mode: AdversarialMode = "vanilla") -> None:
        super().__init__()
        if mode not in _MODES:
            raise ValueError(f"adversarial mode must be one of {list(_MODES)}, got {mode!r}.")
        self.mode = mode

    @property
    def needs_real_for_generator(self) -> bool:
        """Whether :meth:`generator_loss` needs the real logits (only the relativistic mode compares to them)."""
        return self.mode == "relativistic_average"

    def generator_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """The generator's loss from the discriminator's logits of fake (and, if relativistic, real) images.

        Args:
            fake: logits of generated images, with gradient to the generator.
            real: logits of real images; required by ``"relativistic_average"`` (detached here), ignored otherwise.

        Raises:
            ValueError: ``real`` is missing in the relativistic mode.
        """
        f = fake.float()
        if self.mode == "vanilla":
            return _bce(f, 1.0)
        if self.mode == "srgan":
            return (1.0 - f.sigmoid()).mean()
        if self.mode == "lsgan":
            return 0.5 * ((f - 1.0) ** 2).mean()
        if self.mode == "hinge":
            return -f.mean()
        if real is None:
            raise ValueError(
                "AdversarialLoss(mode='relativistic_average').generator_loss needs the real logits: "
                "call generator_loss(fake, real)."
            )
        r = real.detach().float()
        return 0.5 * (_bce(r - f.mean(), 0.0) + _bce(f - r.mean(), 1.0))

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The discriminator's loss from its logits of real and fake images (pass ``D(sr.detach())`` as ``fake``)."""
        r, f = real.float(), fake.float()
        if self.mode == "vanilla":
            return 0.5 * (_bce(r, 1.0) + _bce(f, 0.0))
        if self.mode == "srgan":
            return 1.0 - r.sigmoid().mean() + f.sigmoid().mean()
        if self.mode == "lsgan":
            return 0.5 * (((r - 1.0) ** 2).mean() + (f**2).mean())
        if self.mode == "hinge":
            return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
        return 0.5 * (_bce(r - f.mean(), 1.0) + _bce(f - r.mean(), 0.0))

    def forward(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return self.generator_loss(fake, real)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
