"""EDSR-MSA (Tyagi's thesis): EDSR whose residual blocks end in multi-scale attention, one tail per scale.

The thesis trains progressively, x2 then x4, keeping the body: the model holds a tail for each of its ``scales`` and
``net.scale = 4`` switches the tail used in ``forward`` without touching the body.
"""

from __future__ import annotations

from torch import Tensor, nn

from sr_lightning.models.attention import MultiScaleAttention
from sr_lightning.models.blocks import DIV2K_RGB_MEAN, MeanShift, ScaleTails, check_scale, default_conv
from sr_lightning.models.spec import RecordsSpec

__all__ = ["EDSRMSA", "MSAResidualBlock"]


class MSAResidualBlock(nn.Module):
    """``x + res_scale * MSA(conv(relu(conv(x))))``: EDSR's block with multi-scale attention on its branch.

    Args:
        n_feats: feature channels.
        kernel_size: kernel of the two convolutions.
        res_scale: factor on the residual branch.
        kernel_sizes: kernel sizes of the attention's branches.
        attention_reduction: channel reduction of the attention's branches.
        act_layer: activation between the convolutions.

    Example:
        >>> import torch
        >>> block = MSAResidualBlock(n_feats=8, kernel_sizes=(3, 5))
        >>> block(torch.rand(1, 8, 6, 6)).shape
        torch.Size([1, 8, 6, 6])
    """

    def __init__(
        self,
        n_feats: int = 64,
        kernel_size: int = 3,
        res_scale: float = 1.0,
        kernel_sizes: tuple[int, ...] = (3, 5, 7),
        attention_reduction: int = 4,
        act_layer: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            default_conv(n_feats, n_feats, kernel_size),
            act_layer(),
            default_conv(n_feats, n_feats, kernel_size),
        )
        self.attention = MultiScaleAttention(n_feats, kernel_sizes=kernel_sizes, reduction=attention_reduction)
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        return x + self.attention(self.body(x)) * self.res_scale


class EDSRMSA(RecordsSpec, nn.Module):
    """EDSR with Multi-Scale Attention, the model of Tyagi's MSc thesis.

    Mean shift, a 3x3 head, ``n_resblocks`` ``MSAResidualBlock`` s, a 3x3 conv and a global skip, then one
    ``ScaleTails`` tail (pixel-shuffle upsampler + 3x3 RGB conv) per scale, and the mean added back.

    Args:
        scale: the scale ``forward`` upsamples by; it must be one of ``scales``. Settable later.
        scales: the scales to build tails for; None means ``(scale,)``. Tyagi uses ``(2, 4)``.
        n_resblocks: number of residual blocks.
        n_feats: feature channels.
        res_scale: factor on each block's residual branch.
        kernel_sizes: kernel sizes of the multi-scale attention's branches.
        attention_reduction: channel reduction of the attention's branches.
        rgb_mean: the per-channel mean removed at the input and added back at the output (DIV2K's).

    Raises:
        ValueError: if a scale is unsupported, or ``scale`` is not in ``scales``.

    Example:
        >>> import torch
        >>> net = EDSRMSA(scale=2, scales=(2, 4), n_resblocks=2, n_feats=8)
        >>> net(torch.rand(1, 3, 5, 6)).shape
        torch.Size([1, 3, 10, 12])
        >>> net.scale = 4  # progressive training: same body, the x4 tail
        >>> net(torch.rand(1, 3, 5, 6)).shape
        torch.Size([1, 3, 20, 24])
    """

    # TorchScript cannot compile the setter; a scripted copy keeps the scale it was scripted at.
    __jit_unused_properties__ = ("scale",)

    def __init__(
        self,
        scale: int = 4,
        scales: tuple[int, ...] | None = None,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        kernel_sizes: tuple[int, ...] = (3, 5, 7),
        attention_reduction: int = 4,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        check_scale(scale)
        self.sub_mean = MeanShift(rgb_mean, sign=-1)
        self.head = default_conv(3, n_feats, 3)
        self.body = nn.Sequential(
            *[
                MSAResidualBlock(
                    n_feats, res_scale=res_scale, kernel_sizes=kernel_sizes, attention_reduction=attention_reduction
                )
                for _ in range(n_resblocks)
            ],
            default_conv(n_feats, n_feats, 3),
        )
        self.tail = ScaleTails((scale,) if scales is None else tuple(scales), n_feats)
        self.scales: tuple[int, ...] = self.tail.scales
        self._scale = scale
        self.scale = scale  # validated against scales by the setter
        self.add_mean = MeanShift(rgb_mean, sign=1)

    @property
    def scale(self) -> int:
        """The scale ``forward`` upsamples by, one of ``scales``; setting it switches the tail."""
        return self._scale

    @scale.setter
    def scale(self, value: int) -> None:
        if value not in self.scales:
            raise ValueError(
                f"scale={value} is not one of this model's scales {self.scales}; build the model with "
                "scales that include it."
            )
        self._scale = value

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x, self._scale))
