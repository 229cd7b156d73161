"""``FIDKIDMetrics``: FID and KID between the SR outputs and the HR images of validation and test, every N epochs."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from sr_lightning.callbacks._periodic import _PeriodicSRMetrics
from sr_lightning.metrics.fid_kid import (
    InceptionFeatures,
    _CheckedFeatures,
    fid_metric,
    kid_metric,
)

__all__ = ["FIDKIDMetrics", "cut_patches"]


def cut_patches(images: Tensor, size: int) -> Tensor:
    """The non-overlapping ``size`` x ``size`` patches of a batch, row by row: (B, C, H, W) -> (B * H//size * W//size,
    C, size, size); the right and bottom remainders are dropped. SR and HR images of the same size give aligned patches.

    Raises:
        ValueError: an image smaller than ``size`` on a side.

    Example:
        >>> import torch
        >>> images = torch.arange(2 * 1 * 4 * 6.0).view(2, 1, 4, 6)
        >>> patches = cut_patches(images, 2)
        >>> patches.shape
        torch.Size([12, 1, 2, 2])
        >>> torch.equal(patches[4], images[0, :, 2:4, 2:4])
        True
    """
    b, c, h, w = images.shape
    rows, cols = h // size, w // size
    if rows == 0 or cols == 0:
        raise ValueError(f"images of {h}x{w} are smaller than patch_size={size}; use a smaller patch_size or None.")
    grid = images[:, :, : rows * size, : cols * size].reshape(b, c, rows, size, cols, size)
    return grid.permute(0, 2, 4, 1, 3, 5).reshape(b * rows * cols, c, size, size)


class _Precomputed(nn.Module):
    """The identity on features that were already extracted, so FID and KID share one pass of the extractor."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


class FIDKIDMetrics(_PeriodicSRMetrics):
    """FID and KID between the SR outputs (generated) and the HR images (real) of every scored evaluation epoch.

    Logs ``<stage>/fid``, ``<stage>/kid`` and ``<stage>/kid_std`` (stage ``val`` or ``test``), or with ``patch_size``
    the patch protocol in the name: ``val/fid_patch64``, ``val/kid_patch64``, ``val/kid_std_patch64``. Lower is
    better. FID is biased on small sets (it falls as the set grows), so only compare FIDs of the same set and
    protocol; KID is unbiased, and the one to read on Set5-sized sets. See :mod:`sr_lightning.metrics.fid_kid`.

    Validation is scored on every ``every_n_epochs``-th epoch (not the sanity check), ``trainer.validate`` and
    ``trainer.test`` every time; each value uses only that epoch's images. SR outputs are clamped to ``[0, 1]``.
    The features of each batch are extracted once, on the module's device, and feed both metrics; under DDP,
    torchmetrics gathers every process's features before computing, so the logged value covers the whole set.

    Args:
        every_n_epochs: score every this many validation epochs (Inception passes are not free).
        feature_extractor: maps float images (N, 3, H, W) in ``[0, 1]`` to (N, d) features; ``None`` is the FID
            Inception v3 (:class:`~sr_lightning.metrics.fid_kid.InceptionFeatures`, weights from the torch hub
            cache, which resizes every image or patch to 299 x 299). Another network's values are distances in its
            feature space, not comparable with published FIDs.
        patch_size: score the non-overlapping, aligned ``patch_size`` x ``patch_size`` patches of every SR/HR pair
            (the remainders dropped) instead of whole images: many more samples on a small set, as SR papers do.
        fid: log FID.
        kid: log KID (mean and standard deviation over ``kid_subsets`` random subsets).
        kid_subsets: how many subsets KID is averaged over.
        kid_subset_size: samples per KID subset, clamped to the number of images (or patches) scored.

    Raises:
        ValueError: both ``fid`` and ``kid`` off, or a number out of range; during a run, images smaller than
            ``patch_size``, an extractor that returns anything but (N, d), or fewer than 2 images (or patches).
        MissingWeightsError: at ``setup`` (before training starts), ``feature_extractor=None`` and the Inception
            weights are neither in the torch hub cache nor downloadable.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        feature_extractor: nn.Module | None = None,
        patch_size: int | None = None,
        fid: bool = True,
        kid: bool = True,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
    ) -> None:
        super().__init__(every_n_epochs)
        if not (fid or kid):
            raise ValueError("FIDKIDMetrics with fid=False and kid=False would score nothing; turn one on.")
        if patch_size is not None and (not isinstance(patch_size, int) or patch_size < 1):
            raise ValueError(f"FIDKIDMetrics patch_size must be an integer >= 1 or None, got {patch_size!r}.")
        for name, value in (("kid_subsets", kid_subsets), ("kid_subset_size", kid_subset_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"FIDKIDMetrics {name} must be an integer >= 1, got {value!r}.")
        self.feature_extractor = feature_extractor
        self.patch_size = patch_size
        self.fid = fid
        self.kid = kid
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self._suffix = "" if patch_size is None else f"_patch{patch_size}"
        self._features: _CheckedFeatures | None = None
        self._metrics: nn.ModuleDict | None = None
        self._device: torch.device | None = None  # where the extractor and the metric states are

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._extractor()  # loads Inception now: missing weights stop the run before training, not after an epoch

    def _extractor(self) -> _CheckedFeatures:
        if self._features is None:
            extractor = InceptionFeatures() if self.feature_extractor is None else self.feature_extractor
            self._features = _CheckedFeatures(extractor)
        return self._features

    def _metrics_for(self, num_features: int) -> nn.ModuleDict:
        if self._metrics is None:
            metrics: dict[str, nn.Module] = {}
            if self.fid:
                metrics["fid"] = fid_metric(_Precomputed(num_features))
            if self.kid:
                metrics["kid"] = kid_metric(
                    _Precomputed(num_features), subsets=self.kid_subsets, subset_size=self.kid_subset_size
                )
            self._metrics = nn.ModuleDict(metrics).to(self._device)
        return self._metrics

    def _update(self, pl_module: L.LightningModule, sr: Tensor, hr: Tensor) -> None:
        if sr.shape != hr.shape:
            raise ValueError(
                f"FIDKIDMetrics needs SR and HR of the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}."
            )
        sr = sr.clamp(0, 1)
        if self.patch_size is not None:
            sr, hr = cut_patches(sr, self.patch_size), cut_patches(hr, self.patch_size)
        extractor = self._extractor()
        if self._device != pl_module.device:  # the first batch, or the module moved (fit on GPU, test on CPU)
            self._device = pl_module.device
            for module in (extractor, self._metrics):
                if module is not None:
                    module.to(self._device)
        real, fake = extractor(hr), extractor(sr)
        for metric in self._metrics_for(real.shape[1]).values():
            metric.update(real, real=True)
            metric.update(fake, real=False)

    def _compute(self) -> dict[str, Tensor]:
        if self._metrics is None or not any(m.update_called for m in self._metrics.values()):
            return {}
        values: dict[str, Tensor] = {}
        try:
            if "fid" in self._metrics:
                values[f"fid{self._suffix}"] = self._metrics["fid"].compute()
            if "kid" in self._metrics:
                values[f"kid{self._suffix}"], values[f"kid_std{self._suffix}"] = self._metrics["kid"].compute()
        except ValueError as error:
            what = "images" if self.patch_size is None else f"patches of {self.patch_size} px"
            raise ValueError(
                f"FIDKIDMetrics: {error} Score more {what}: more evaluation images, or a (smaller) patch_size."
            ) from error
        return values

    def _reset(self) -> None:
        if self._metrics is not None:
            for metric in self._metrics.values():
                metric.reset()
