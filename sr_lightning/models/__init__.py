"""Generators and their shared layers. Pure torch: nothing here imports Lightning.

Every generator keeps one contract: a (B, 3, H, W) float tensor in [0, 1] goes in, a (B, 3, sH, sW) tensor in
the same range comes out, and the module has an integer ``scale`` attribute.
"""

from sr_lightning.models.blocks import MeanShift, ResidualBlock, Upsampler
from sr_lightning.models.edsr import EDSR
from sr_lightning.models.srresnet import SRResNet

__all__ = ["EDSR", "MeanShift", "ResidualBlock", "SRResNet", "Upsampler"]
