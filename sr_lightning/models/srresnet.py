"""SRResNet (Ledig et al., CVPR 2017) in two forms: Dwivedi et al.'s (no BatchNorm), Abram & Sadik's (BatchNorm, tanh).

Dwivedi et al. (the default here): 9x9 head with PReLU, 16 residual blocks *without* BatchNorm, a 3x3 conv and a global
skip, PReLU pixel-shuffle x2 steps and a 9x9 reconstruction conv. Abram & Sadik's baseline is the original SRGAN
generator: BatchNorm in the blocks and after the body conv, and a tanh output, selected with
``batch_norm=True, output_activation="tanh"``; the tanh range [-1, 1] is mapped back to [0, 1].
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from sr_lightning.models.blocks import ResidualBlock, Upsampler, check_scale, default_conv
from sr_lightning.models.spec import RecordsSpec

__all__ = ["SRResNet"]


class SRResNet(RecordsSpec, nn.Module):
    """Super-Resolution Residual Network.

    Args:
        scale: upscaling factor, 2, 3 or 4.
        n_resblocks: number of residual blocks.
        n_feats: feature channels.
        batch_norm: BatchNorm after each conv of the blocks and after the body conv (the 2017 original).
        output_activation: ``"none"`` (a linear output in the [0, 1] image range) or ``"tanh"``
            (``(tanh(x) + 1) / 2``, Abram & Sadik's baseline).
        block_layer: the residual block class (timm's ``block``), built ``n_resblocks`` times as
            ``block_layer(n_feats, act_layer=nn.PReLU, norm_layer=nn.BatchNorm2d or None, **block_args)``.
            :class:`~sr_lightning.models.SESRResNet` passes its SE block here, and
            :class:`~sr_lightning.models.AttentionSRGANGenerator` Wu's GroupNorm block.
        block_args: further keyword arguments of every block (e.g. ``{"reduction": 8}``); None for none.

    Raises:
        ValueError: if ``scale`` is unsupported or ``output_activation`` is unknown.

    Example:
        >>> import torch
        >>> net = SRResNet(scale=4, n_resblocks=2, n_feats=8)
        >>> net(torch.rand(2, 3, 9, 7)).shape
        torch.Size([2, 3, 36, 28])
    """

    def __init__(
        self,
        scale: int = 4,
        n_resblocks: int = 16,
        n_feats: int = 64,
        batch_norm: bool = False,
        output_activation: Literal["none", "tanh"] = "none",
        block_layer: type[nn.Module] = ResidualBlock,
        block_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if output_activation not in ("none", "tanh"):
            raise ValueError(f"output_activation must be 'none' or 'tanh', got {output_activation!r}.")
        self.scale = check_scale(scale)
        self.output_activation = output_activation
        norm_layer = nn.BatchNorm2d if batch_norm else None
        self.head = nn.Sequential(default_conv(3, n_feats, 9), nn.PReLU())
        block_args = dict(block_args or {})
        body: list[nn.Module] = [
            block_layer(n_feats, act_layer=nn.PReLU, norm_layer=norm_layer, **block_args) for _ in range(n_resblocks)
        ]
        body.append(default_conv(n_feats, n_feats, 3, bias=not batch_norm))
        if batch_norm:
            body.append(nn.BatchNorm2d(n_feats))
        self.body = nn.Sequential(*body)
        self.upsampler = Upsampler(scale, n_feats, act_layer=nn.PReLU)
        self.tail = default_conv(n_feats, 3, 9)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(x)
        x = x + self.body(x)
        x = self.tail(self.upsampler(x))
        if self.output_activation == "tanh":
            return (torch.tanh(x) + 1) / 2
        return x
