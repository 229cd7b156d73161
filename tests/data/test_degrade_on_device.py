"""degrade_on_device: HR-only batches get the same 8-bit bicubic LR after the transfer as the workers would make."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from sr_lightning.data import SRDataModule, bicubic_lr, imresize
from sr_lightning.data.imresize import _resize_matrix

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def _reference_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB bicubic in float64, summed in the other order (columns first), clamped and rounded to 8 bits."""
    rows = _resize_matrix(hr.shape[-2], hr.shape[-2] // scale, 1 / scale, True)
    cols = _resize_matrix(hr.shape[-1], hr.shape[-1] // scale, 1 / scale, True)
    lr = rows @ (hr.cpu().double() @ cols.T)
    return ((lr.clamp(0, 1) * 255).round() / 255).float()


def _modules(folder: str, scale: int, **kwargs) -> tuple[SRDataModule, SRDataModule]:
    common = {"train_dir": folder, "val_dir": folder, "scale": scale, "patch_size": 48, "batch_size": 4, "seed": 5}
    return SRDataModule(**{**common, **kwargs}), SRDataModule(**{**common, **kwargs}, degrade_on_device=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_device_lr_equals_the_workers_lr(image_folder: Callable, scale: int, device: str, request) -> None:
    if device == "cuda":
        request.getfixturevalue("cuda")  # a skip without a GPU
    cpu, on_device = _modules(str(image_folder([(60, 70), (50, 96), (72, 72)])), scale, repeat=4)
    for expected, batch in zip(cpu.train_dataloader(), on_device.train_dataloader(), strict=True):
        assert set(batch) == {"hr"} and torch.equal(batch["hr"], expected["hr"])  # the same draws
        batch = on_device.on_after_batch_transfer({"hr": batch["hr"].to(device)}, 0)
        assert batch["lr"].device.type == device and batch["lr"].shape == (4, 3, 48 // scale, 48 // scale)
        assert (batch["lr"].cpu() - expected["lr"]).abs().max() <= 1e-5
        assert torch.equal(batch["lr"].cpu(), expected["lr"])  # in fact bit for bit


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_lr_does_not_depend_on_batching_or_summation_order(scale: int) -> None:
    # x2 and x4 weights are short binary fractions: 8-bit inputs often land exactly on a half level, where the
    # summation order of a float32 product (CPU vs GPU) decides the rounding. float64 makes the result exact.
    base = torch.rand(32, 3, 12, 12, generator=torch.Generator().manual_seed(scale))
    hr = (F.interpolate(base, size=(48, 48), mode="bilinear") * 255).round() / 255
    batched = bicubic_lr(hr, scale)
    assert torch.equal(batched, torch.stack([bicubic_lr(item, scale) for item in hr]))
    assert torch.equal(batched, _reference_lr(hr, scale))
    assert batched.dtype == torch.float32 and torch.equal(batched * 255, (batched * 255).round())
    assert (batched - imresize(hr, 1 / scale).clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6  # rounding only


def test_batches_with_lr_and_the_default_pass_unchanged(image_folder: Callable) -> None:
    cpu, on_device = _modules(str(image_folder([(48, 48)] * 2)), 2)
    val = next(iter(on_device.val_dataloader()))
    assert on_device.on_after_batch_transfer(val, 0)["lr"] is val["lr"]  # validation has its own LR
    assert "lr" not in cpu.on_after_batch_transfer({"hr": torch.zeros(1, 3, 48, 48)}, 0)


def test_a_scale_switch_reaches_the_next_batch(image_folder: Callable) -> None:
    _, dm = _modules(str(image_folder([(48, 48)] * 2)), 2, repeat=8, num_workers=1)
    batches = iter(dm.train_dataloader())
    assert dm.on_after_batch_transfer(next(batches), 0)["lr"].shape[-1] == 24
    dm.scale = 4  # batches already prefetched by the worker hold HR only: their LR follows the new scale
    assert [dm.on_after_batch_transfer(batch, 0)["lr"].shape[-1] for batch in batches] == [12, 12, 12]


class _Recorder(L.LightningModule):
    """Checks each training batch's LR against its HR and keeps the HR patches."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        assert batch["lr"].shape == (2, 3, 24, 24) and batch["hr"].shape == (2, 3, 48, 48)
        assert torch.equal(batch["lr"], _reference_lr(batch["hr"], 2).to(batch["lr"].device))
        self.seen.append(batch["hr"].cpu())
        return F.l1_loss(self.body(batch["lr"]), batch["hr"])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        assert batch["lr"].shape[-1] * 2 == batch["hr"].shape[-1]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_trainer_fit_adds_lr_on_the_device(image_folder: Callable, tiny_trainer: Callable) -> None:
    cpu, on_device = _modules(str(image_folder([(60, 60)] * 3)), 2, batch_size=2, repeat=2)
    model = _Recorder()
    tiny_trainer(max_epochs=1, num_sanity_val_steps=0, limit_val_batches=1).fit(model, datamodule=on_device)
    expected = [batch["hr"] for batch in cpu.train_dataloader()]
    assert len(model.seen) == len(expected) == 3
    assert all(torch.equal(a, b) for a, b in zip(model.seen, expected, strict=True))
