"""EDSR (Lim et al., CVPR-W 2017): residual blocks without BatchNorm, residual scaling, sub-pixel upsampling."""

from __future__ import annotations

from torch import Tensor, nn

from sr_lightning.models.blocks import (
    DIV2K_RGB_MEAN,
    MeanShift,
    ResidualBlock,
    Upsampler,
    check_scale,
    default_conv,
)
from sr_lightning.models.spec import RecordsSpec

__all__ = ["EDSR"]


class EDSR(RecordsSpec, nn.Module):
    """Enhanced Deep Super-Resolution network.

    The defaults are EDSR-baseline (16 blocks x 64 features, 1.37 M parameters at x2). The full EDSR, also the
    model of Abram & Sadik, is ``n_resblocks=32, n_feats=256, res_scale=0.1``.

    Args:
        scale: upscaling factor, 2, 3 or 4.
        n_resblocks: number of residual blocks in the body.
        n_feats: feature channels.
        res_scale: factor on each block's residual branch (0.1 stabilises wide models).
        rgb_mean: the per-channel mean removed at the input and added back at the output (DIV2K's).
        act_layer: activation inside the residual blocks.

    Example:
        >>> import torch
        >>> net = EDSR(scale=2, n_resblocks=2, n_feats=8)
        >>> net(torch.rand(1, 3, 10, 12)).shape
        torch.Size([1, 3, 20, 24])
    """

    def __init__(
        self,
        scale: int = 2,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
        act_layer: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale)
        self.sub_mean = MeanShift(rgb_mean, sign=-1)
        self.head = default_conv(3, n_feats, 3)
        self.body = nn.Sequential(
            *[ResidualBlock(n_feats, res_scale=res_scale, act_layer=act_layer) for _ in range(n_resblocks)],
            default_conv(n_feats, n_feats, 3),
        )
        self.tail = nn.Sequential(Upsampler(scale, n_feats), default_conv(n_feats, 3, 3))
        self.add_mean = MeanShift(rgb_mean, sign=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))
