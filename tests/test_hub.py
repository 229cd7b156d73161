"""Pretrained weights come from the torch hub cache; a missing file is a clear, quick error. Never any network."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from torchvision.models import SqueezeNet1_1_Weights, squeezenet1_1

from sr_lightning.hub import MissingWeightsError, cached_weights_file, hub_checkpoint_dir, load_torchvision_weights
from sr_lightning.losses import LPIPSLoss, VGGPerceptualLoss

SQUEEZE = SqueezeNet1_1_Weights.IMAGENET1K_V1


@pytest.fixture
def cached_squeezenet(torch_home: Path) -> dict[str, torch.Tensor]:
    """A randomly initialised SqueezeNet 1.1 state dict saved where torchvision caches the real one."""
    torch.manual_seed(0)
    state = squeezenet1_1().state_dict()
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(state, folder / "squeezenet1_1-b8a52dc0.pth")
    return state


def test_hub_checkpoint_dir_honours_torch_home(torch_home: Path) -> None:
    assert hub_checkpoint_dir() == torch_home / "hub" / "checkpoints"


def test_a_cached_file_is_returned_without_downloading(cached_squeezenet, torch_home: Path, no_download) -> None:
    path = cached_weights_file(SQUEEZE.url, description="SqueezeNet")
    assert path == torch_home / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"


def test_a_missing_file_is_downloaded_into_the_cache_with_its_hash_checked(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_download(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
        calls.append((url, dst, hash_prefix))
        Path(dst).write_bytes(b"weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    path = cached_weights_file("https://example.org/models/net-0123abcd.pth", description="test weights")
    assert path.read_bytes() == b"weights"
    assert calls == [("https://example.org/models/net-0123abcd.pth", str(path), "0123abcd")]
    assert path.parent == hub_checkpoint_dir()


def test_load_torchvision_weights_loads_exactly_the_cached_tensors(cached_squeezenet, no_download) -> None:
    torch.manual_seed(1)
    model = load_torchvision_weights(squeezenet1_1(), SQUEEZE)
    loaded = model.state_dict()
    assert loaded.keys() == cached_squeezenet.keys()
    assert all(torch.equal(loaded[k], v) for k, v in cached_squeezenet.items())


def test_load_torchvision_weights_fills_a_meta_model(cached_squeezenet, no_download) -> None:
    with torch.device("meta"):
        model = squeezenet1_1()
    load_torchvision_weights(model, SQUEEZE)
    assert not any(p.is_meta for p in model.parameters())
    assert torch.equal(model.features[0].weight, cached_squeezenet["features.0.weight"])


def test_load_torchvision_weights_is_strict(cached_squeezenet, no_download) -> None:
    model = squeezenet1_1()
    model.extra = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match=r"extra\.weight"):
        load_torchvision_weights(model, SQUEEZE)


def test_lpips_builds_offline_from_the_cached_backbone(cached_squeezenet, no_download) -> None:
    loss = LPIPSLoss(net="squeeze", pretrained=True)
    backbone = {name: p for name, p in loss.lpips.net.named_parameters()}  # slice<k>.<torchvision index>.<param>
    assert len(backbone) == len([k for k in cached_squeezenet if k.startswith("features.")]) == 50
    for name, param in backbone.items():
        index, kind = name.split(".", 1)[1].split(".", 1)
        assert torch.equal(param, cached_squeezenet[f"features.{index}.{kind}"]), name
    hr = torch.rand(1, 3, 32, 32)
    assert loss(hr, hr).item() == 0.0


def test_pretrained_feature_weights_stay_out_of_checkpoints_and_load_back(cached_squeezenet, no_download) -> None:
    pretrained = torch.nn.ModuleDict({"lpips": LPIPSLoss(net="squeeze", pretrained=True)})
    assert pretrained.state_dict() == {}  # the published weights are reloaded from the hub cache, not checkpointed
    before = {k: v.clone() for k, v in pretrained["lpips"].lpips.state_dict().items()}
    pretrained.load_state_dict({}, strict=True)  # strict loading fills them back in
    after = pretrained["lpips"].lpips.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    # Random weights (pretrained=False) are part of the run: they stay in the state dict and round-trip.
    random_a, random_b = LPIPSLoss(net="squeeze", pretrained=False), LPIPSLoss(net="squeeze", pretrained=False)
    keys = random_a.state_dict().keys()
    assert any(k.startswith("lpips.net.") for k in keys)
    random_b.load_state_dict(random_a.state_dict())
    hr, sr = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert random_a(sr, hr).item() == random_b(sr, hr).item()


def test_vgg_loss_without_weights_offline_names_the_file_and_folder(torch_home: Path, offline) -> None:
    folder = torch_home / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError) as info:
        VGGPerceptualLoss(pretrained=True)
    message = str(info.value)
    for needed in ("vgg19-dcbb9e9d.pth", str(folder), "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"):
        assert needed in message
    assert "TORCH_HOME" in message and "pretrained=False" in message
    assert isinstance(info.value.__cause__, URLError)
    assert isinstance(info.value, FileNotFoundError)
    assert offline.urls == ["https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"]
    assert list(folder.iterdir()) == []  # the partial file is gone


@pytest.mark.parametrize(("net", "file"), [("alex", "alexnet-owt-7be5be79.pth"), ("vgg", "vgg16-397923af.pth")])
def test_lpips_without_weights_offline_names_the_backbone_file(torch_home: Path, offline, net: str, file: str) -> None:
    folder = torch_home / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError, match=f"LPIPS {net} backbone.*{re.escape(file)}.*{re.escape(str(folder))}"):
        LPIPSLoss(net=net, pretrained=True)
    assert list(folder.iterdir()) == []


def test_the_error_names_the_description(torch_home: Path, offline) -> None:
    url = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    with pytest.raises(MissingWeightsError, match=r"^VGG19 ImageNet weights not found: vgg19-dcbb9e9d\.pth"):
        cached_weights_file(url, description="VGG19 ImageNet weights")
