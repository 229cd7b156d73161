"""The Metric classes average per image, whatever the batching, and match the functional form."""

from __future__ import annotations

import pytest
import torch

from sr_lightning.metrics import PSNR, SSIM
from sr_lightning.metrics.functional import psnr, ssim


@pytest.mark.parametrize(("cls", "fn"), [(PSNR, psnr), (SSIM, ssim)])
@pytest.mark.parametrize("y_channel", [False, True])
def test_metric_equals_mean_of_per_image_values_across_batches(cls, fn, y_channel: bool) -> None:
    gen = torch.Generator().manual_seed(1)
    hr = torch.rand(5, 3, 24, 24, generator=gen)
    sr = (hr + 0.03 * torch.randn(hr.shape, generator=gen)).clamp(0, 1)
    metric = cls(border=2, y_channel=y_channel)
    metric.update(sr[:2], hr[:2])  # uneven batches: a mean of batch means would be wrong
    metric.update(sr[2:], hr[2:])
    expected = fn(sr, hr, border=2, y_channel=y_channel, reduction="none").mean()
    assert metric.compute().item() == pytest.approx(expected.item(), abs=1e-5)
    metric.reset()
    with pytest.raises(RuntimeError, match="before any update"):
        metric.compute()


def test_metric_states_sum_for_distributed_sync() -> None:
    metric = PSNR()
    assert metric._reductions["total"].__name__ == "dim_zero_sum"
    assert metric._reductions["count"].__name__ == "dim_zero_sum"
