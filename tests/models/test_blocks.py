"""ScaleTails: one upsampler + RGB conv per scale behind a shared body."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from sr_lightning.models import ScaleTails, Upsampler


def test_scale_tails_builds_one_tail_per_scale() -> None:
    tails = ScaleTails(scales=(2, 3, 4, 2), n_feats=8, act_layer=nn.PReLU, out_kernel_size=9)
    assert tails.scales == (2, 3, 4)  # duplicates dropped, order kept
    assert list(tails.tails) == ["2", "3", "4"]
    for s in (2, 3, 4):
        tail = tails.tails[str(s)]
        assert isinstance(tail.upsampler, Upsampler)
        assert (tail.conv.in_channels, tail.conv.out_channels, tail.conv.kernel_size) == (8, 3, (9, 9))
    # x4 is two x2 pixel-shuffle steps, each followed by the activation; x3 is one step.
    assert sum(isinstance(m, nn.PReLU) for m in tails.tails["4"].modules()) == 2
    assert sum(isinstance(m, nn.PReLU) for m in tails.tails["3"].modules()) == 1


def test_scale_tails_forward_uses_the_requested_tail() -> None:
    torch.manual_seed(0)
    tails = ScaleTails(scales=(2, 4), n_feats=8)
    x = torch.randn(2, 8, 5, 7)
    for s in (2, 4):
        y = tails(x, scale=s)
        assert y.shape == (2, 3, 5 * s, 7 * s)
        torch.testing.assert_close(y, tails.tails[str(s)].conv(tails.tails[str(s)].upsampler(x)))


def test_scale_tails_unknown_scale_names_it_and_the_available_ones() -> None:
    tails = ScaleTails(scales=(2, 4), n_feats=8)
    with pytest.raises(ValueError, match=re.escape("scale=3 has no tail here; the available scales are (2, 4)")):
        tails(torch.rand(1, 8, 4, 4), scale=3)


@pytest.mark.parametrize(("scales", "named"), [((), "scales=()"), ((2, 5), "scale=5")])
def test_scale_tails_rejects_bad_scales(scales: tuple[int, ...], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        ScaleTails(scales=scales, n_feats=8)
