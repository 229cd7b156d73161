"""The LPIPS metric: the lpips package's per-image values, averaged per image, with the loss's weight handling."""

from __future__ import annotations

from pathlib import Path

import lpips
import pytest
import torch
from torchvision.models import squeezenet1_1

from sr_lightning.metrics import LPIPS

pytestmark = pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")


@pytest.fixture
def pairs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(5, 3, 64, 64, generator=gen)
    noise = torch.linspace(0.02, 0.3, 5).view(5, 1, 1, 1) * torch.randn(hr.shape, generator=gen)
    return (hr + noise).clamp(0, 1), hr


@pytest.mark.parametrize("net", ["alex", "squeeze"])
def test_lpips_metric_is_the_per_image_mean_of_the_lpips_package(pairs, net: str) -> None:
    sr, hr = pairs
    torch.manual_seed(0)
    metric = LPIPS(net=net, pretrained=False)
    reference = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    reference.load_state_dict(metric.distance.lpips.state_dict())  # the same random backbone, calibrated heads
    metric.update(sr[:1], hr[:1])  # uneven batches: a mean of batch means would weigh the first image 2.5x
    metric.update(sr[1:], hr[1:])
    with torch.no_grad():
        per_image = reference(2 * sr - 1, 2 * hr - 1).flatten()  # the package's own [-1, 1] inputs
    assert per_image.shape == (5,) and per_image.min() > 0
    assert metric.compute().item() == pytest.approx(per_image.mean().item(), rel=1e-5)
    metric.reset()
    metric.update(hr, hr)
    assert metric.compute().item() == 0.0
    metric.reset()
    with pytest.raises(RuntimeError, match="before any update"), pytest.warns(UserWarning, match="before the"):
        metric.compute()


def test_lpips_metric_is_lower_better_and_sums_for_distributed_sync() -> None:
    metric = LPIPS(net="squeeze", pretrained=False)
    assert metric.higher_is_better is False
    assert metric._reductions["total"].__name__ == "dim_zero_sum"
    assert metric._reductions["count"].__name__ == "dim_zero_sum"
    assert not any(p.requires_grad for p in metric.parameters())
    assert not any(m.training for m in metric.distance.lpips.modules())
    assert any(k.startswith("distance.lpips.net.") for k in metric.state_dict())  # random weights belong to the run


def test_lpips_metric_rejects_mismatched_images() -> None:
    metric = LPIPS(net="squeeze", pretrained=False)
    with pytest.raises(ValueError, match=r"same shape \(B, 3, H, W\), got \(1, 3, 32, 32\) and \(1, 3, 30, 32\)"):
        metric.update(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 30, 32))


def test_pretrained_lpips_metric_loads_offline_and_keeps_weights_out_of_its_state_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail(f"tried to download {a[0]}"))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    state = squeezenet1_1().state_dict()
    torch.save(state, folder / "squeezenet1_1-b8a52dc0.pth")
    metric = LPIPS(net="squeeze", pretrained=True)
    assert metric.state_dict() == {}
    assert torch.equal(metric.distance.lpips.net.slice1[0].weight, state["features.0.weight"])
