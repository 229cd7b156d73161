"""The SRGAN discriminator (Ledig et al., CVPR 2017), used by the adversarial seeds (000, 003).

A VGG-style stack of eight 3x3 convs with LeakyReLU(0.2), channels doubling every two layers while stride-2 convs
halve the resolution, then two dense layers. An adaptive average pool before the dense layers fixes their input to
``pool_size`` x ``pool_size`` (6 x 6, what a 96-px patch gives in the paper), so any patch size works.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from sr_lightning.models.spec import RecordsSpec

__all__ = ["SRGANDiscriminator"]


class SRGANDiscriminator(RecordsSpec, nn.Module):
    """The VGG-style SRGAN discriminator; it returns raw logits of shape (B, 1), the losses apply the sigmoid.

    Layers: k3n64s1 + LeakyReLU, then k3n64s2, k3n128s1, k3n128s2, k3n256s1, k3n256s2, k3n512s1, k3n512s2, each
    followed by the normalization and LeakyReLU(0.2), then ``AdaptiveAvgPool2d(pool_size)``, Linear(-> 1024),
    LeakyReLU(0.2) and Linear(-> 1) (with ``n_feats=64``).

    Args:
        in_channels: channels of the images it judges.
        n_feats: channels of the first conv; the later ones are 2, 4 and 8 times it.
        norm: ``"batch"`` (BatchNorm after every conv but the first, as in the paper), ``"spectral"`` (spectral
            normalization of every conv and linear layer, no BatchNorm) or ``"none"``.
        pool_size: side of the pooled feature map fed to the dense layers.

    Raises:
        ValueError: if ``norm`` is unknown or ``pool_size`` is not positive.

    Example:
        >>> import torch
        >>> net = SRGANDiscriminator(n_feats=8)
        >>> net(torch.rand(2, 3, 96, 96)).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        in_channels: int = 3,
        n_feats: int = 64,
        norm: Literal["batch", "spectral", "none"] = "batch",
        pool_size: int = 6,
    ) -> None:
        super().__init__()
        if norm not in ("batch", "spectral", "none"):
            raise ValueError(f"norm must be 'batch', 'spectral' or 'none', got {norm!r}.")
        if pool_size <= 0:
            raise ValueError(f"pool_size={pool_size!r} must be a positive integer.")
        self.norm = norm

        def wrap(layer: nn.Module) -> nn.Module:
            return spectral_norm(layer) if norm == "spectral" else layer

        layers: list[nn.Module] = [wrap(nn.Conv2d(in_channels, n_feats, 3, padding=1)), nn.LeakyReLU(0.2)]
        channels = n_feats
        for out_channels, stride in zip(
            [n_feats, 2 * n_feats, 2 * n_feats, 4 * n_feats, 4 * n_feats, 8 * n_feats, 8 * n_feats],
            [2, 1, 2, 1, 2, 1, 2],
            strict=True,
        ):
            layers.append(wrap(nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1, bias=norm != "batch")))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.LeakyReLU(0.2))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            wrap(nn.Linear(channels * pool_size * pool_size, 1024)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(1024, 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)))
