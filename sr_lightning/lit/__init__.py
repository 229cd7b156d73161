"""LightningModules: the pixel-loss :class:`SRModule` and the adversarial :class:`SRGANModule`, both on
:class:`SRBaseModule` (generator, optional :class:`ModelEMA`, evaluation steps)."""

from sr_lightning.lit.base import NonFiniteLossError, NonFiniteWeightsError, SRBaseModule, load_generator_weights
from sr_lightning.lit.checkpoint_io import AtomicCheckpointIO, CheckpointReadError
from sr_lightning.lit.ema import ModelEMA
from sr_lightning.lit.gan_module import SRGANModule
from sr_lightning.lit.sr_module import SRModule

__all__ = [
    "AtomicCheckpointIO",
    "CheckpointReadError",
    "ModelEMA",
    "NonFiniteLossError",
    "NonFiniteWeightsError",
    "SRBaseModule",
    "SRGANModule",
    "SRModule",
    "load_generator_weights",
]
