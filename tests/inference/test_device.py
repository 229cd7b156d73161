"""resolve_device and device_of: one answer to "where does this run" for upscale, benchmark and export."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sr_lightning.inference import device_of, resolve_device


@pytest.mark.parametrize("name", [None, "auto"])
def test_auto_is_cuda_when_available_else_cpu(name: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(name) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(name) == torch.device("cuda")


def test_named_devices_are_taken_as_they_are() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("meta") == torch.device("meta")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_is_an_error_naming_the_value(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=rf"device '{name}': CUDA is not available here; use auto or cpu"):
        resolve_device(name)


def test_a_gpu_past_the_last_one_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"device 'cuda:2': this machine has 2 CUDA device\(s\), cuda:0 to cuda:1"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "", "CPU"])
def test_bad_names_are_a_value_error_naming_the_value(name: str) -> None:
    with pytest.raises(ValueError, match=rf"device '{name}' is not a torch device; use auto, cpu, cuda or cuda:N"):
        resolve_device(name)


def test_device_of_follows_the_weights_then_the_buffers_else_cpu() -> None:
    assert device_of(nn.Linear(2, 2, device="meta")) == torch.device("meta")
    buffered = nn.BatchNorm2d(3, affine=False, device="meta")  # buffers only: running mean and variance
    assert not list(buffered.parameters()) and device_of(buffered) == torch.device("meta")
    assert device_of(nn.ReLU()) == torch.device("cpu")
    assert device_of(nn.Sequential()) == torch.device("cpu")


def test_the_tools_share_it() -> None:
    from sr_lightning.evaluation import run
    from sr_lightning.inference import files, onnx_export, upscale

    assert files.resolve_device is run.resolve_device is resolve_device
    assert upscale.device_of is onnx_export.device_of is device_of
