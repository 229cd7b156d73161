"""Generators, the discriminator and their shared layers. Pure torch: nothing here imports Lightning.

Every generator keeps one contract: a (B, 3, H, W) float tensor in [0, 1] goes in, a (B, 3, sH, sW) tensor in
the same range comes out, and the module has an integer ``scale`` attribute.

Generators and the papers they come from:

- ``EDSR``: Lim et al. 2017; the full-size EDSR is Abram & Sadik's enhanced model.
- ``SRResNet``: Ledig et al. 2017; Dwivedi et al.'s vanilla baseline (no BatchNorm) and Abram & Sadik's baseline
  (BatchNorm, tanh output).
- ``EDSRMSA``: Tyagi's thesis, EDSR with multi-scale attention, one tail per scale for progressive x2 -> x4 training.
- ``SESRResNet``: Dwivedi et al. (section 2.2), SRResNet with squeeze-and-excitation residual blocks.
- ``AttentionSRGANGenerator``: Wu (section 3.1), SRGAN without BatchNorm, three-conv GroupNorm blocks with
  channel attention.

``SRGANDiscriminator`` is Ledig et al.'s VGG-style discriminator for the adversarial recipes.
"""

from sr_lightning.models.attention import ChannelAttention, MultiScaleAttention
from sr_lightning.models.blocks import MeanShift, ResidualBlock, ScaleTails, Upsampler
from sr_lightning.models.discriminator import SRGANDiscriminator
from sr_lightning.models.edsr import EDSR
from sr_lightning.models.edsr_msa import EDSRMSA, MSAResidualBlock
from sr_lightning.models.se_srresnet import SEResidualBlock, SESRResNet
from sr_lightning.models.spec import RecordsSpec, network_spec
from sr_lightning.models.srgan import AttentionResidualBlock, AttentionSRGANGenerator
from sr_lightning.models.srresnet import SRResNet

__all__ = [
    "EDSR",
    "EDSRMSA",
    "AttentionResidualBlock",
    "AttentionSRGANGenerator",
    "ChannelAttention",
    "MSAResidualBlock",
    "MeanShift",
    "MultiScaleAttention",
    "RecordsSpec",
    "ResidualBlock",
    "SEResidualBlock",
    "SESRResNet",
    "SRGANDiscriminator",
    "SRResNet",
    "ScaleTails",
    "Upsampler",
    "network_spec",
]
