"""SE-SRResNet (Dwivedi et al., section 2.2): SRResNet whose residual blocks end in squeeze-and-excitation.

Each block is ``x + SE(conv3x3(PReLU(conv3x3(x))))``; the rest (9x9 head with PReLU, 3x3 conv and global skip,
PReLU pixel-shuffle x2 steps, 9x9 reconstruction) is SRResNet's, so the two differ by exactly the SE parameters.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from sr_lightning.models.attention import ChannelAttention
from sr_lightning.models.blocks import ResidualBlock
from sr_lightning.models.srresnet import SRResNet

__all__ = ["SEResidualBlock", "SESRResNet"]


class SEResidualBlock(ResidualBlock):
    """SRResNet's residual block with channel attention closing its branch: ``x + res_scale * SE(branch(x))``.

    Args:
        n_feats: feature channels.
        kernel_size: kernel of the two convolutions.
        res_scale: factor on the residual branch.
        act_layer: activation between the convolutions (PReLU, as in SRResNet).
        norm_layer: optional normalization after each conv (None in Dwivedi et al.).
        reduction: channel reduction of the squeeze-and-excitation bottleneck.

    Example:
        >>> import torch
        >>> block = SEResidualBlock(n_feats=32, reduction=16)
        >>> block(torch.rand(1, 32, 5, 5)).shape
        torch.Size([1, 32, 5, 5])
    """

    def __init__(
        self,
        n_feats: int = 64,
        kernel_size: int = 3,
        res_scale: float = 1.0,
        act_layer: type[nn.Module] = nn.PReLU,
        norm_layer: type[nn.Module] | None = None,
        reduction: int = 16,
    ) -> None:
        super().__init__(n_feats, kernel_size, res_scale, act_layer=act_layer, norm_layer=norm_layer)
        self.attention = ChannelAttention(n_feats, reduction=reduction)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.attention(self.body(x)) * self.res_scale


class SESRResNet(SRResNet):
    """Attention-enhanced SRResNet of Dwivedi et al. (Dwivedi et al., section 2.2): SE residual blocks.

    Args:
        scale: upscaling factor, 2, 3 or 4 (Dwivedi et al. uses 4).
        n_resblocks: number of residual blocks.
        n_feats: feature channels.
        batch_norm: BatchNorm after each conv of the blocks and after the body conv (off in Dwivedi et al.).
        output_activation: ``"none"`` (linear output) or ``"tanh"`` (``(tanh(x) + 1) / 2``).
        reduction: channel reduction of every block's squeeze-and-excitation.

    Example:
        >>> import torch
        >>> net = SESRResNet(scale=4, n_resblocks=2, n_feats=16, reduction=4)
        >>> net(torch.rand(1, 3, 8, 6)).shape
        torch.Size([1, 3, 32, 24])
    """

    def __init__(
        self,
        scale: int = 4,
        n_resblocks: int = 16,
        n_feats: int = 64,
        batch_norm: bool = False,
        output_activation: Literal["none", "tanh"] = "none",
        reduction: int = 16,
    ) -> None:
        super().__init__(
            scale=scale,
            n_resblocks=n_resblocks,
            n_feats=n_feats,
            batch_norm=batch_norm,
            output_activation=output_activation,
            block_layer=SEResidualBlock,
            block_args={"reduction": reduction},
        )
