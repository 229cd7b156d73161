"""FID/KID: torchmetrics' values with any extractor, known answers, small sets, and the Inception weights offline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
import torch
from torch import nn
from torch_fidelity import feature_extractor_inceptionv3
from torchmetrics.image import FrechetInceptionDistance, KernelInceptionDistance

from sr_lightning.hub import MissingWeightsError
from sr_lightning.metrics import (
    INCEPTION_WEIGHTS_URL,
    InceptionFeatures,
    fid_metric,
    inception_weights_file,
    kid_metric,
)

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


def tiny_extractor(dim: int = 16) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, dim, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class Float64(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


def mean_colour() -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(6, 3, 16, 16, generator=gen)
    return hr, (hr + 0.2 * torch.randn(hr.shape, generator=gen)).clamp(0, 1)


@pytest.fixture(scope="module")
def random_inception_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised torch-fidelity Inception state dict (float16 to stay small), saved once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feature_extractor_inceptionv3, "load_state_dict_from_url", lambda *args, **kwargs: {})
        patch.setattr(feature_extractor_inceptionv3.FeatureExtractorInceptionV3, "load_state_dict", lambda *a: None)
        torch.manual_seed(0)
        state = feature_extractor_inceptionv3.FeatureExtractorInceptionV3("inception", ["2048"]).state_dict()
    path = tmp_path_factory.mktemp("inception") / INCEPTION_FILE
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, path)
    return path


def test_fid_equals_torchmetrics_and_is_zero_between_a_set_and_itself(images) -> None:
    hr, sr = images
    extractor = tiny_extractor()
    ours, reference = fid_metric(extractor), FrechetInceptionDistance(extractor, normalize=True)
    for metric in (ours, reference):
        metric.update(hr[:4], real=True)  # uneven batches
        metric.update(hr[4:], real=True)
        metric.update(sr, real=False)
    assert ours.compute().item() == pytest.approx(reference.compute().item(), rel=1e-6)
    itself = fid_metric(extractor)
    itself.update(hr, real=True)
    itself.update(hr, real=False)
    assert abs(itself.compute().item()) < 1e-4


def test_fid_of_shifted_features_is_the_squared_shift() -> None:
    """Same covariance, means apart by c: FID = ||c||^2 (here 3 channels x 0.1^2)."""
    hr = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    fid = fid_metric(mean_colour())
    fid.update(hr, real=True)
    fid.update(hr + 0.1, real=False)
    assert fid.compute().item() == pytest.approx(0.03, abs=1e-4)


@pytest.mark.filterwarnings("ignore:.*will save all extracted features")  # torchmetrics' own, the reference
def test_kid_clamps_the_subset_size_and_leaves_the_global_rng_alone(images) -> None:
    hr, sr = images
    extractor = tiny_extractor()
    ours = kid_metric(extractor, subsets=4)  # subset_size 1000 > 6 samples
    in_float64 = nn.Sequential(extractor, Float64())
    reference = KernelInceptionDistance(in_float64, subsets=4, subset_size=6, normalize=True)
    for metric in (ours, reference):
        metric.update(hr, real=True)
        metric.update(sr, real=False)
    rng = torch.random.get_rng_state()
    mean, std = ours.compute()
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert ours.subset_size == 1000  # only clamped while computing
    # Each subset holds every sample, so the unbiased MMD is the same for all of them.
    assert mean.item() == pytest.approx(reference.compute()[0].item(), rel=1e-9)
    assert mean.item() > 0 and std.item() < 1e-9 * mean.item()


@pytest.mark.parametrize("build", [fid_metric, kid_metric])
def test_a_single_sample_is_a_clear_error(build, images) -> None:
    hr, sr = images
    metric = build(tiny_extractor())
    metric.update(hr[:1], real=True)
    metric.update(sr[:3], real=False)
    with pytest.raises(ValueError, match="at least 2 real and 2 generated samples, got 1 and 3"):
        metric.compute()


class DeclaresEight(nn.Module):
    num_features = 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)).repeat(1, 4)  # (N, 12)


@pytest.mark.parametrize("build", [fid_metric, kid_metric])
def test_an_extractor_without_flat_features_is_a_clear_error(build) -> None:
    with pytest.raises(ValueError, match=r"Conv2d must map images .* to features \(N, d\); .* returned \(2, 4, 297"):
        build(nn.Conv2d(3, 4, 3))  # probed once when built
    metric = build(DeclaresEight())
    with pytest.raises(ValueError, match=r"features \(N, 8\); for images \(3, 3, 8, 8\) it returned \(3, 12\)"):
        metric.update(torch.rand(3, 3, 8, 8), real=True)


def test_bad_kid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="subset_size must be an integer >= 1, got 0"):
        kid_metric(tiny_extractor(), subset_size=0)


def test_inception_weights_offline_name_the_file_url_and_folder(torch_home: Path, offline) -> None:
    folder = torch_home / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError) as info:
        InceptionFeatures()
    message = str(info.value)
    for needed in (INCEPTION_FILE, INCEPTION_WEIGHTS_URL, str(folder), "TORCH_HOME", "feature_extractor"):
        assert needed in message
    assert offline.urls == [INCEPTION_WEIGHTS_URL]
    assert offline.hash_prefixes == [None]  # its name's hex tag is not a SHA256: no hash check


def test_a_cached_inception_file_is_used_without_network(
    torch_home: Path, random_inception_file: Path, offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / INCEPTION_FILE).symlink_to(random_inception_file)
    # The file is where torch-fidelity's own torch.hub.load_state_dict_from_url looks for it.
    assert (
        inception_weights_file()
        == Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(INCEPTION_WEIGHTS_URL).path).name
    )
    monkeypatch.setattr(feature_extractor_inceptionv3, "load_state_dict_from_url", None)  # only the cached path
    features = InceptionFeatures()
    saved = torch.load(random_inception_file, weights_only=True)
    assert torch.equal(
        features.inception.Mixed_7c.branch_pool.conv.weight, saved["Mixed_7c.branch_pool.conv.weight"].float()
    )
    assert features.state_dict() == {}  # the published weights are reloaded from the cache, not checkpointed
    assert features(torch.rand(2, 3, 24, 24)).shape == (2, 2048)
    assert offline.urls == []


def test_old_builder_names_and_module_are_deprecated_aliases(images) -> None:
    import importlib
    import sys

    from sr_lightning import metrics

    hr, sr = images
    for old, new in (("frechet_inception_distance", "fid_metric"), ("kernel_inception_distance", "kid_metric")):
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*{new}"):
            metric = getattr(metrics, old)(tiny_extractor())
        reference = getattr(metrics, new)(tiny_extractor())
        for m in (metric, reference):
            m.update(hr, real=True)
            m.update(sr, real=False)
        assert type(metric) is type(reference)
        assert torch.equal(torch.as_tensor(metric.compute()), torch.as_tensor(reference.compute()))
    sys.modules.pop("sr_lightning.metrics.distribution", None)
    with pytest.warns(DeprecationWarning, match="sr_lightning.metrics.distribution is deprecated"):
        shim = importlib.import_module("sr_lightning.metrics.distribution")
    assert shim.fid_metric is metrics.fid_metric and shim.InceptionFeatures is metrics.InceptionFeatures
