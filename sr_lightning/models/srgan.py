"""The attention SRGAN generator of Wu (Wu, section 3.1): three-conv GroupNorm blocks with channel attention.

The frame is the SRGAN generator of Ledig et al. (2017) as in the common leftthomas/SRGAN implementation:
9x9 head + PReLU, residual blocks, 3x3 conv and global skip, PReLU pixel-shuffle x2 steps, a 9x9 output conv and
``(tanh(x) + 1) / 2``. Each block's two conv+BN layers become three conv+GroupNorm layers closed by channel
attention (RCAN's, which the paper cites). The paper's text does not give the number of groups or the attention's
reduction; 32 groups (GroupNorm's default) and 16 (RCAN's) are the defaults here.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from sr_lightning.models.attention import ChannelAttention
from sr_lightning.models.blocks import default_conv
from sr_lightning.models.srresnet import SRResNet

__all__ = ["AttentionResidualBlock", "AttentionSRGANGenerator"]


def _check_groups(n_feats: int, norm_groups: int) -> None:
    if norm_groups <= 0 or n_feats % norm_groups != 0:
        raise ValueError(
            f"norm_groups={norm_groups!r} must be a positive divisor of n_feats={n_feats!r} for GroupNorm."
        )


class AttentionResidualBlock(nn.Module):
    """``x + CA(GN(conv(PReLU(GN(conv(PReLU(GN(conv(x)))))))))``, Wu's residual block.

    Args:
        n_feats: feature channels.
        norm_groups: GroupNorm groups; must divide ``n_feats``.
        reduction: channel reduction of the channel attention.
        kernel_size: kernel of the three convolutions.
        act_layer: activation after the first two normalizations (PReLU in Wu's block).
        norm_layer: normalization after each conv, called with the channel count; None (the default) is Wu's
            ``GroupNorm(norm_groups, n_feats)``. These two keywords make the block fit
            :class:`~sr_lightning.models.SRResNet`'s ``block_layer``.

    Raises:
        ValueError: if ``norm_layer`` is None and ``norm_groups`` does not divide ``n_feats``.

    Example:
        >>> import torch
        >>> block = AttentionResidualBlock(n_feats=16, norm_groups=4, reduction=4)
        >>> block(torch.rand(1, 16, 5, 5)).shape
        torch.Size([1, 16, 5, 5])
    """

    def __init__(
        self,
        n_feats: int = 64,
        norm_groups: int = 32,
        reduction: int = 16,
        kernel_size: int = 3,
        act_layer: type[nn.Module] = nn.PReLU,
        norm_layer: type[nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if norm_layer is None:
            _check_groups(n_feats, norm_groups)
        layers: list[nn.Module] = []
        for i in range(3):
            # GroupNorm does not absorb a per-channel bias (its mean is over a group), so the convs keep theirs.
            norm = nn.GroupNorm(norm_groups, n_feats) if norm_layer is None else norm_layer(n_feats)
            layers += [default_conv(n_feats, n_feats, kernel_size), norm]
            if i < 2:
                layers.append(act_layer())
        self.body = nn.Sequential(*layers)
        self.attention = ChannelAttention(n_feats, reduction=reduction)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.attention(self.body(x))


class AttentionSRGANGenerator(SRResNet):
    """SRGAN generator with attention residual blocks and no BatchNorm, the model of Wu's paper.

    SRResNet's frame (same head, body conv, upsampler, tail and state-dict keys) with
    :class:`AttentionResidualBlock` s.

    Args:
        scale: upscaling factor, 2, 3 or 4 (Wu uses 4).
        n_resblocks: number of residual blocks.
        n_feats: feature channels.
        norm_groups: GroupNorm groups in every block; must divide ``n_feats``.
        reduction: channel reduction of every block's channel attention.
        output_activation: ``"tanh"`` (``(tanh(x) + 1) / 2``, as in the leftthomas SRGAN code) or ``"none"``.

    Raises:
        ValueError: if ``scale`` is unsupported, ``norm_groups`` does not divide ``n_feats`` or
            ``output_activation`` is unknown.

    Example:
        >>> import torch
        >>> net = AttentionSRGANGenerator(scale=4, n_resblocks=2, n_feats=16, norm_groups=4, reduction=4)
        >>> y = net(torch.rand(1, 3, 6, 7))
        >>> y.shape, bool(0 <= y.min() and y.max() <= 1)
        (torch.Size([1, 3, 24, 28]), True)
    """

    def __init__(
        self,
        scale: int = 4,
        n_resblocks: int = 16,
        n_feats: int = 64,
        norm_groups: int = 32,
        reduction: int = 16,
        output_activation: Literal["none", "tanh"] = "tanh",
    ) -> None:
        _check_groups(n_feats, norm_groups)
        super().__init__(
            scale=scale,
            n_resblocks=n_resblocks,
            n_feats=n_feats,
            batch_norm=False,
            output_activation=output_activation,
            block_layer=AttentionResidualBlock,
            block_args={"norm_groups": norm_groups, "reduction": reduction},
        )
