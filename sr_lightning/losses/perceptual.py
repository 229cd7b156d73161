"""Perceptual losses: distances between deep features of frozen ImageNet networks (VGG19, LPIPS).

Pretrained weights come from the torch hub cache (:mod:`sr_lightning.hub`): a missing file raises
:class:`~sr_lightning.hub.MissingWeightsError` naming it and the folder to put it in. ``pretrained=False`` builds the
same networks with random weights, on purpose, for tests and smoke runs; it is never a silent fallback.

The frozen networks never receive gradients and stay in eval mode. With ``pretrained=True`` their weights are left
out of the loss's (and so the LightningModule's) ``state_dict``: they are the published ImageNet weights, reloaded
from the hub cache when the loss is built, and would add 80 MB (VGG19 up to ``conv5_4``) to every checkpoint.
Loading a state dict fills them back in, so strict loading works with old and new checkpoints alike. With
``pretrained=False`` the random weights are part of the run and stay in the ``state_dict``.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import lpips
import torch
from torch import Tensor, nn
from torchvision import models

from sr_lightning.hub import cached_weights_file, load_torchvision_weights

__all__ = ["LPIPSLoss", "VGGPerceptualLoss"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)


def _leave_pretrained_out_of_state_dict(loss: nn.Module, attribute: str) -> None:
    """Drop ``loss.<attribute>``'s weights from ``loss.state_dict()`` and put them back when a state dict is loaded."""

    def drop(module: nn.Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
        for key in [k for k in state_dict if k.startswith(f"{prefix}{attribute}.")]:
            del state_dict[key]

    def fill(module: nn.Module, state_dict: dict, prefix: str, *args: object) -> None:
        for key, value in getattr(module, attribute).state_dict(prefix=f"{prefix}{attribute}.").items():
            state_dict.setdefault(key, value)

    loss.register_state_dict_post_hook(drop)
    loss.register_load_state_dict_pre_hook(fill)


IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg19_layer_names() -> tuple[str, ...]:
    """BasicSR/ESRGAN names for the 37 modules of ``torchvision.models.vgg19().features``."""
    names: list[str] = []
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


VGG19_LAYER_NAMES = _vgg19_layer_names()


class VGGPerceptualLoss(nn.Module):
    """Weighted distances between VGG19 features of ``sr`` and ``hr`` (Johnson et al. 2016; SRGAN; ESRGAN).

    Dwivedi et al.'s vanilla loss uses ``L_VGG = ||phi(I_SR) - phi(I_HR)||_2^2`` (``criterion="mse"``), weighted 0.1.
    Layers are named the BasicSR way: ``conv1_1, relu1_1, ..., conv5_4, relu5_4, pool5``; a ``conv`` name is the
    pre-activation output (ESRGAN's "before ReLU" features), a ``relu`` name the activation (SRGAN's ``phi_5,4``).
    Only the layers up to the deepest requested one are kept. Images in ``[0, 1]`` are normalized with the ImageNet
    mean and std inside (``use_input_norm``); the HR features are computed without gradient.

    Args:
        layer_weights: ``{layer name: weight}``; the loss is ``sum_k w_k * criterion(f_k(sr), f_k(hr))``.
            Defaults to ESRGAN's ``{"conv5_4": 1.0}``.
        criterion: ``"l1"`` (ESRGAN) or ``"mse"`` (SRGAN, Dwivedi et al.).
        pretrained: load torchvision's ``VGG19_Weights.IMAGENET1K_V1`` (``vgg19-dcbb9e9d.pth``) from the torch hub
            cache; ``False`` gives random weights, for tests only.
        use_input_norm: normalize inputs with the ImageNet mean and std first.

    Raises:
        ValueError: an unknown layer name (the message lists the valid ones), no layers, a non-finite weight, or an
            unknown criterion.
        MissingWeightsError: ``pretrained=True`` and the weight file is not cached and cannot be downloaded.

    Example:
        >>> import torch
        >>> loss = VGGPerceptualLoss({"relu1_2": 1.0, "relu2_2": 0.5}, pretrained=False)
        >>> len(loss.features)  # conv1_1 ... relu2_2
        9
        >>> hr = torch.rand(1, 3, 16, 16)
        >>> loss(hr, hr).item()
        0.0
    """

    def __init__(
        self,
        layer_weights: dict[str, float] | None = None,
        criterion: Literal["l1", "mse"] = "l1",
        pretrained: bool = True,
        use_input_norm: bool = True,
    ) -> None:
        super().__init__()
        layer_weights = {"conv5_4": 1.0} if layer_weights is None else dict(layer_weights)
        if not layer_weights:
            raise ValueError("VGGPerceptualLoss needs at least one layer in layer_weights.")
        unknown = sorted(set(layer_weights) - set(VGG19_LAYER_NAMES))
        if unknown:
            raise ValueError(f"unknown VGG19 layer name(s) {unknown}; valid names are {list(VGG19_LAYER_NAMES)}.")
        for name, weight in layer_weights.items():
            if not math.isfinite(weight):
                raise ValueError(f"layer weight for {name!r} must be finite, got {weight!r}.")
        if criterion not in ("l1", "mse"):
            raise ValueError(f"criterion must be 'l1' or 'mse', got {criterion!r}.")
        self.layer_weights = layer_weights
        self.criterion = criterion
        self.pretrained = pretrained
        self.use_input_norm = use_input_norm
        self._layer_index = {name: VGG19_LAYER_NAMES.index(name) for name in layer_weights}
        self.features = self._build_features(max(self._layer_index.values()) + 1, pretrained)
        if pretrained:
            _leave_pretrained_out_of_state_dict(self, "features")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @staticmethod
    def _build_features(depth: int, pretrained: bool) -> nn.Sequential:
        with torch.device("meta"):  # skips initialising the 120M classifier weights that are thrown away
            vgg = models.vgg19()
        if pretrained:
            load_torchvision_weights(vgg, models.VGG19_Weights.IMAGENET1K_V1)
            features = vgg.features[:depth]
        else:
            features = vgg.features[:depth].to_empty(device="cpu")
            for module in features.modules():
                if isinstance(module, nn.Conv2d):  # torchvision's VGG initialisation
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(module.bias)
        for module in features.modules():
            if isinstance(module, nn.ReLU):
                module.inplace = False  # an in-place ReLU would overwrite the conv outputs we keep
        features.requires_grad_(False)
        return features.eval()

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        """Set the training flag; the frozen VGG always stays in eval mode."""
        super().train(mode)
        self.features.eval()
        return self

    def _extract(self, x: Tensor) -> dict[str, Tensor]:
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        wanted = {index: name for name, index in self._layer_index.items()}
        out: dict[str, Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
        return out

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        distance = nn.functional.l1_loss if self.criterion == "l1" else nn.functional.mse_loss
        sr_features = self._extract(sr)
        with torch.no_grad():
            hr_features = self._extract(hr)
        return sum(
            (w * distance(sr_features[name], hr_features[name]) for name, w in self.layer_weights.items()),
            start=sr.new_zeros(()),
        )

    def extra_repr(self) -> str:
        return f"layer_weights={self.layer_weights}, criterion={self.criterion!r}, pretrained={self.pretrained}"


_LPIPS_BACKBONES = {
    "alex": models.AlexNet_Weights.IMAGENET1K_V1,
    "vgg": models.VGG16_Weights.IMAGENET1K_V1,
    "squeeze": models.SqueezeNet1_1_Weights.IMAGENET1K_V1,
}


class LPIPSLoss(nn.Module):
    """LPIPS distance (Zhang et al. 2018), the perceptual term of Dwivedi et al.'s hybrid loss (weight 0.4).

    Wraps ``lpips.LPIPS``: ImageNet backbone features, unit-normalized per channel, squared differences weighted by
    the linear layers calibrated on human judgements (shipped inside the ``lpips`` package). Images in ``[0, 1]`` are
    mapped to ``[-1, 1]`` inside; the result is the batch mean, or one value per image with ``reduction="none"``
    (what :class:`~sr_lightning.metrics.LPIPS` averages). The whole network is frozen and stays in eval mode.

    Args:
        net: the backbone: ``"alex"`` (AlexNet; the fastest, and the best forward metric per the LPIPS authors),
            ``"vgg"`` (VGG16; closer to a classic perceptual loss when optimized) or ``"squeeze"`` (SqueezeNet 1.1).
        pretrained: load the ImageNet backbone from the torch hub cache (``alexnet-owt-7be5be79.pth``,
            ``vgg16-397923af.pth`` or ``squeezenet1_1-b8a52dc0.pth``); ``False`` gives a random backbone, for tests
            only. The calibrated linear layers ship inside ``lpips`` (no download) and are loaded either way: their
            weights are non-negative, so even with a random backbone the loss is a distance (0 on equal images,
            never negative), where random linear layers could make it negative.
        reduction: ``"mean"`` over the batch (a scalar) or ``"none"`` (shape (B,)).

    Raises:
        ValueError: an unknown ``net`` or ``reduction``.
        MissingWeightsError: ``pretrained=True`` and the backbone file is not cached and cannot be downloaded.

    Example:
        >>> import torch
        >>> loss = LPIPSLoss(net="squeeze", pretrained=False)
        >>> hr = torch.rand(1, 3, 32, 32)
        >>> loss(hr, hr).item()
        0.0
    """

    def __init__(
        self,
        net: Literal["alex", "vgg", "squeeze"] = "alex",
        pretrained: bool = True,
        reduction: Literal["mean", "none"] = "mean",
    ) -> None:
        super().__init__()
        if net not in _LPIPS_BACKBONES:
            raise ValueError(f"LPIPS net must be one of {list(_LPIPS_BACKBONES)}, got {net!r}.")
        if reduction not in ("mean", "none"):
            raise ValueError(f"LPIPS reduction must be 'mean' or 'none', got {reduction!r}.")
        self.reduction = reduction
        if pretrained:  # lpips would let torchvision download it; resolve it first so a missing file is our error
            weights = _LPIPS_BACKBONES[net]
            cached_weights_file(weights.url, description=f"LPIPS {net} backbone ({type(weights).__name__}) weights")
        self.net_name = net
        self.pretrained = pretrained
        with warnings.catch_warnings():  # lpips calls torchvision's deprecated ``pretrained=`` argument
            warnings.filterwarnings("ignore", message=r".*(pretrained|weight enum).*", category=UserWarning)
            self.lpips = lpips.LPIPS(net=net, pretrained=True, pnet_rand=not pretrained, verbose=False)
        self.lpips.requires_grad_(False)
        self.lpips.eval()
        if pretrained:
            _leave_pretrained_out_of_state_dict(self, "lpips")

    def train(self, mode: bool = True) -> LPIPSLoss:
        """Set the training flag; the frozen LPIPS network always stays in eval mode."""
        super().train(mode)
        self.lpips.eval()
        return self

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        per_image = self.lpips(sr, hr, normalize=True).flatten()  # (B, 1, 1, 1) spatial means -> (B,)
        return per_image.mean() if self.reduction == "mean" else per_image

    def extra_repr(self) -> str:
        return f"net={self.net_name!r}, pretrained={self.pretrained}, reduction={self.reduction!r}"
