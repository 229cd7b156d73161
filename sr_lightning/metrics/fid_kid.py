"""FID and KID between two sets of images: torchmetrics' metrics, with the Inception weights from the torch hub cache.

FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) compare the *distributions* of deep features of two image
sets, here SR outputs and their HR references, not image pairs. FID fits a Gaussian to each set and is biased on small
sets (its expected value falls as the set grows, so FIDs of different set sizes do not compare); KID, an unbiased
polynomial-kernel MMD, does not have that bias, which makes it the one to read on Set5-sized sets. Both are
torchmetrics' classes fed with float images in ``[0, 1]`` through a feature extractor:

- :class:`InceptionFeatures`, the 2048-d pool features of torch-fidelity's port of the TensorFlow Inception v3 that
  published FIDs use; or
- any ``nn.Module`` mapping (N, 3, H, W) in ``[0, 1]`` to (N, d) features (tests use a tiny one). Its values are
  Frechet/kernel distances in *its* feature space, not comparable with Inception FID.

The Inception weights file, :data:`INCEPTION_WEIGHTS_URL`'s ``weights-inception-2015-12-05-6726825d.pth``, is
read from the torch hub cache (``$TORCH_HOME/hub/checkpoints``), where torch-fidelity itself caches it; when it is
missing and cannot be downloaded, :class:`~sr_lightning.hub.MissingWeightsError` names the file, URL and folder.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torchmetrics.image import FrechetInceptionDistance, KernelInceptionDistance
from torchmetrics.image.fid import NoTrainInceptionV3

from sr_lightning.hub import cached_weights_file
from sr_lightning.losses.perceptual import _leave_pretrained_out_of_state_dict

__all__ = [
    "INCEPTION_WEIGHTS_URL",
    "InceptionFeatures",
    "fid_metric",
    "frechet_inception_distance",
    "inception_weights_file",
    "kernel_inception_distance",
    "kid_metric",
]

INCEPTION_WEIGHTS_URL: str = URL_INCEPTION_V3
"""torch-fidelity's Inception v3 weights (converted from TensorFlow's 2015-12-05 graph), the FID standard."""

# KID draws its subsets with this seed, in a forked RNG: the value is reproducible and training's random stream is
# left untouched (torchmetrics draws them from the global generator).
_KID_SUBSET_SEED = 0


def inception_weights_file() -> Path:
    """The FID Inception weights in the torch hub cache, downloaded there first if missing.

    Returns:
        ``hub_checkpoint_dir() / "weights-inception-2015-12-05-6726825d.pth"``, the file torch-fidelity itself loads
        (``torch.hub.load_state_dict_from_url``). Copy the file there on an offline machine.

    Raises:
        MissingWeightsError: the file is not cached and cannot be downloaded; the message names the file, the URL
            and the folder.
    """
    return cached_weights_file(
        INCEPTION_WEIGHTS_URL,
        description="FID Inception v3 (torch-fidelity) weights",
        check_hash=False,  # torch-fidelity's name tag is not a SHA256 prefix, and it never checks one
        hint="For tests and smoke runs, pass a small feature_extractor instead of the Inception network.",
    )


class InceptionFeatures(nn.Module):
    """The FID network: 2048-d Inception v3 pool features of float images in ``[0, 1]``, (N, 3, H, W) -> (N, 2048).

    torch-fidelity's port of TensorFlow's 2015 Inception, built through torchmetrics' ``NoTrainInceptionV3`` from
    :func:`inception_weights_file`. Images are clamped, quantized to 8 bits (rounded, as saved PNGs are) and resized
    to 299 x 299 inside, so small images and patches are upsampled. The network is frozen, always in eval mode, and
    left out of ``state_dict`` (the published weights are reloaded from the hub cache).

    Args:
        resize: ``"tensorflow"`` (TF1's bilinear resize, as torch-fidelity and the original FID code, so values match
            published numbers) or ``"antialias"`` (bilinear with antialiasing, torchmetrics' default; needs
            torchmetrics>=1.8).

    Raises:
        ValueError: an unknown ``resize``, or ``"antialias"`` with torchmetrics < 1.8.
        MissingWeightsError: the weights file is not cached and cannot be downloaded.
    """

    num_features = 2048

    def __init__(self, resize: Literal["tensorflow", "antialias"] = "tensorflow") -> None:
        super().__init__()
        if resize not in ("tensorflow", "antialias"):
            raise ValueError(f"InceptionFeatures resize must be 'tensorflow' or 'antialias', got {resize!r}.")
        # torchmetrics < 1.8 has no ``antialias`` and always resizes as TensorFlow 1 does.
        has_antialias = "antialias" in inspect.signature(NoTrainInceptionV3.__init__).parameters
        if resize == "antialias" and not has_antialias:
            raise ValueError("InceptionFeatures(resize='antialias') needs torchmetrics>=1.8.")
        path = inception_weights_file()
        self.resize = resize
        self.inception = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(self.num_features)],
            feature_extractor_weights_path=str(path),
            **({"antialias": resize == "antialias"} if has_antialias else {}),
        )
        self.inception.requires_grad_(False)
        _leave_pretrained_out_of_state_dict(self, "inception")

    def forward(self, images: Tensor) -> Tensor:
        return self.inception((images.clamp(0, 1) * 255).round().to(torch.uint8))

    def extra_repr(self) -> str:
        return f"resize={self.resize!r}"


class _CheckedFeatures(nn.Module):
    """``extractor`` with its output checked: (N, num_features) features for N images, else a clear ValueError."""

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor
        declared = getattr(extractor, "num_features", None)  # else learnt from the first call
        self.num_features: int | None = declared if isinstance(declared, int) else None

    def forward(self, images: Tensor) -> Tensor:
        features = self.extractor(images)
        expected = f"(N, {self.num_features})" if self.num_features is not None else "(N, d)"
        if (
            not isinstance(features, Tensor)
            or features.ndim != 2
            or features.shape[0] != images.shape[0]
            or self.num_features not in (None, features.shape[1])
        ):
            shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
            raise ValueError(
                f"the feature extractor {type(self.extractor).__name__} must map images (N, 3, H, W) in [0, 1] to "
                f"features {expected}; for images {tuple(images.shape)} it returned {shape}. End it with a global "
                f"pooling and a flatten (e.g. nn.AdaptiveAvgPool2d(1), nn.Flatten())."
            )
        self.num_features = features.shape[1]
        return features


def _checked(feature_extractor: nn.Module | None) -> _CheckedFeatures:
    checked = _CheckedFeatures(InceptionFeatures() if feature_extractor is None else feature_extractor)
    if checked.num_features is None:  # torchmetrics' FID needs the width up front: probe once, as it would
        device = next(iter(checked.extractor.parameters()), torch.empty(0)).device
        with torch.no_grad():
            checked(torch.rand(2, 3, 299, 299, device=device))
    return checked


def _count(features: list[Tensor] | Tensor) -> int:
    return int(features.shape[0]) if isinstance(features, Tensor) else sum(int(f.shape[0]) for f in features)


class _SmallSetFID(FrechetInceptionDistance):
    """FID that names the problem when a set has fewer than 2 samples."""

    def compute(self) -> Tensor:
        real, fake = int(self.real_features_num_samples), int(self.fake_features_num_samples)
        if min(real, fake) < 2:
            raise ValueError(f"FID needs at least 2 real and 2 generated samples, got {real} and {fake}.")
        return super().compute()


class _SmallSetKID(KernelInceptionDistance):
    """KID in float64, its subset size clamped to the number of samples, its subsets drawn from a fixed seed."""

    def update(self, imgs: Tensor, real: bool) -> None:
        # float64, as torchmetrics' FID: KID subtracts sums of nearly equal kernel values, which float32 blurs.
        features = self.inception(imgs).double()
        (self.real_features if real else self.fake_features).append(features)

    def compute(self) -> tuple[Tensor, Tensor]:
        real, fake = _count(self.real_features), _count(self.fake_features)  # synchronised across processes here
        if min(real, fake) < 2:
            raise ValueError(f"KID needs at least 2 real and 2 generated samples, got {real} and {fake}.")
        requested = self.subset_size
        self.subset_size = min(requested, real, fake)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_KID_SUBSET_SEED)
                return super().compute()
        finally:
            self.subset_size = requested


def fid_metric(feature_extractor: nn.Module | None = None) -> FrechetInceptionDistance:
    """A torchmetrics FID ``Metric`` on float images in ``[0, 1]``: ``update(images, real=...)``, then ``compute()``.

    Args:
        feature_extractor: maps (N, 3, H, W) in ``[0, 1]`` to (N, d); ``None`` is :class:`InceptionFeatures`.

    Raises:
        MissingWeightsError: ``feature_extractor=None`` and the Inception weights are missing offline.
        ValueError: the extractor returns anything but (N, d) features; ``compute()`` with fewer than 2 samples.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> fid = fid_metric(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
        >>> images = torch.rand(8, 3, 16, 16)
        >>> fid.update(images, real=True)
        >>> fid.update(images, real=False)
        >>> abs(fid.compute().item()) < 1e-4
        True
    """
    return _SmallSetFID(feature=_checked(feature_extractor), normalize=True)


def kid_metric(
    feature_extractor: nn.Module | None = None, subsets: int = 100, subset_size: int = 1000
) -> KernelInceptionDistance:
    """A torchmetrics KID ``Metric`` on float images in ``[0, 1]``; ``compute()`` gives ``(mean, std)`` over subsets.

    Unlike torchmetrics' own, it keeps the features in float64, ``subset_size`` is clamped to the number of samples
    at ``compute()`` (so the default works on a five-image set), and the subsets are drawn from a fixed seed without
    touching the global RNG.

    Args:
        feature_extractor: maps (N, 3, H, W) in ``[0, 1]`` to (N, d); ``None`` is :class:`InceptionFeatures`.
        subsets: how many random subsets the mean and standard deviation are taken over.
        subset_size: samples per subset, at most the number of samples of each set.

    Raises:
        MissingWeightsError: ``feature_extractor=None`` and the Inception weights are missing offline.
        ValueError: ``subsets`` or ``subset_size`` below 1; the extractor returns anything but (N, d) features;
            ``compute()`` with fewer than 2 samples.
    """
    for name, value in (("subsets", subsets), ("subset_size", subset_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"KID {name} must be an integer >= 1, got {value!r}.")
    with warnings.catch_warnings():  # it keeps every feature vector: fine for SR validation sets, and said above
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        return _SmallSetKID(feature=_checked(feature_extractor), subsets=subsets, subset_size=subset_size)


def frechet_inception_distance(feature_extractor: nn.Module | None = None) -> FrechetInceptionDistance:
    """Deprecated alias of :func:`fid_metric` (it builds a ``Metric``, it does not compute a distance)."""
    _deprecated("frechet_inception_distance", "fid_metric")
    return fid_metric(feature_extractor)


def kernel_inception_distance(
    feature_extractor: nn.Module | None = None, subsets: int = 100, subset_size: int = 1000
) -> KernelInceptionDistance:
    """Deprecated alias of :func:`kid_metric` (it builds a ``Metric``, it does not compute a distance)."""
    _deprecated("kernel_inception_distance", "kid_metric")
    return kid_metric(feature_extractor, subsets=subsets, subset_size=subset_size)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"sr_lightning.metrics.{old} is deprecated and will be removed in the next release; use "
        f"sr_lightning.metrics.{new} (same arguments, same Metric).",
        DeprecationWarning,
        stacklevel=3,
    )
