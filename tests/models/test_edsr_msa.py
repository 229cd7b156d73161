"""EDSR-MSA (Tyagi's thesis): blocks with multi-scale attention and progressive x2 -> x4 scale switching."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from sr_lightning.models import EDSRMSA, MSAResidualBlock, MultiScaleAttention


def _tiny(scale: int = 4, scales: tuple[int, ...] | None = None) -> EDSRMSA:
    return EDSRMSA(scale=scale, scales=scales, n_resblocks=2, n_feats=8)


def test_msa_residual_block_formula() -> None:
    torch.manual_seed(0)
    block = MSAResidualBlock(n_feats=8, res_scale=0.1, kernel_sizes=(3, 5))
    x = torch.randn(1, 8, 6, 7)
    branch = block.body(x)
    torch.testing.assert_close(block(x), x + 0.1 * branch * block.attention.attention_map(branch))
    nn.init.zeros_(block.body[-1].weight)
    nn.init.zeros_(block.body[-1].bias)
    assert torch.equal(block(x), x)


def test_edsr_msa_structure() -> None:
    net = EDSRMSA(scale=4, n_resblocks=3, n_feats=16, kernel_sizes=(3, 5), attention_reduction=2, res_scale=0.1)
    blocks = [m for m in net.body if isinstance(m, MSAResidualBlock)]
    assert len(blocks) == 3 and all(b.res_scale == 0.1 for b in blocks)
    assert isinstance(net.body[-1], nn.Conv2d) and net.body[-1].kernel_size == (3, 3)
    for b in blocks:
        assert isinstance(b.attention, MultiScaleAttention) and b.attention.kernel_sizes == (3, 5)
        assert b.attention.branches[0][0].out_channels == 8
    assert net.scales == (4,) and net.scale == 4 and list(net.tail.tails) == ["4"]


def test_progressive_switch_keeps_the_body_and_changes_the_output_size() -> None:
    torch.manual_seed(0)
    net = _tiny(scale=2, scales=(2, 4))
    x = torch.rand(1, 3, 7, 5)
    body_before = {n: (p, p.detach().clone()) for n, p in net.named_parameters() if not n.startswith("tail.")}
    assert net(x).shape == (1, 3, 14, 10)

    net.scale = 4
    assert net.scale == 4 and isinstance(net.scale, int)
    y = net(x)
    assert y.shape == (1, 3, 28, 20)
    body_after = {n: p for n, p in net.named_parameters() if not n.startswith("tail.")}
    assert body_after.keys() == body_before.keys()
    for name, (param, value) in body_before.items():
        assert body_after[name] is param and torch.equal(param, value), name
    # The x4 output is the shared body's features through the x4 tail.
    feats = net.head(net.sub_mean(x))
    feats = feats + net.body(feats)
    torch.testing.assert_close(y, net.add_mean(net.tail.tails["4"](feats)))


def test_state_dict_round_trips_with_every_tail() -> None:
    torch.manual_seed(0)
    net = _tiny(scale=2, scales=(2, 4))
    state = net.state_dict()
    assert any(k.startswith("tail.tails.2.") for k in state) and any(k.startswith("tail.tails.4.") for k in state)
    torch.manual_seed(1)
    fresh = _tiny(scales=(2, 4))
    assert fresh.scale == 4  # the default scale, one of the scales
    fresh.load_state_dict(state)
    x = torch.rand(1, 3, 6, 6)
    for s in (2, 4):
        net.scale = fresh.scale = s
        assert torch.equal(fresh(x), net(x))


def test_setting_a_scale_without_a_tail_raises_and_keeps_the_old_one() -> None:
    net = _tiny(scale=2, scales=(2, 4))
    with pytest.raises(ValueError, match=re.escape("scale=3 is not one of this model's scales (2, 4)")):
        net.scale = 3
    assert net.scale == 2


def test_scale_must_be_in_scales() -> None:
    with pytest.raises(ValueError, match=re.escape("scale=3 is not one of this model's scales (2, 4)")):
        _tiny(scale=3, scales=(2, 4))
