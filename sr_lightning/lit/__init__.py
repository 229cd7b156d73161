"""LightningModules: the pixel-loss :class:`SRModule` (the GAN module comes with the adversarial seeds)."""

from sr_lightning.lit.sr_module import SRModule

__all__ = ["SRModule"]
