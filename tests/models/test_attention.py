"""Channel attention (SE/RCAN) and multi-scale attention (EDSR-MSA) against known answers."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from sr_lightning.models import ChannelAttention, MultiScaleAttention


def test_channel_attention_gate_matches_the_se_formula() -> None:
    torch.manual_seed(0)
    ca = ChannelAttention(n_feats=32, reduction=16)
    x = torch.randn(2, 32, 5, 7)
    w1, b1 = ca.excite[0].weight.flatten(1), ca.excite[0].bias
    w2, b2 = ca.excite[2].weight.flatten(1), ca.excite[2].bias
    z = x.mean(dim=(2, 3))  # squeeze
    expected = torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)  # excitation
    gate = ca.gate(x)
    assert gate.shape == (2, 32, 1, 1) and w1.shape == (2, 32)  # bottleneck of 32 // 16 channels
    torch.testing.assert_close(gate.flatten(1), expected)
    torch.testing.assert_close(ca(x), x * expected[:, :, None, None])
    assert (gate > 0).all() and (gate < 1).all()


def test_channel_attention_depends_on_channel_means_only() -> None:
    torch.manual_seed(0)
    ca = ChannelAttention(n_feats=8, reduction=2)
    with torch.no_grad():
        ca.excite[0].bias.fill_(1.0)  # keep the bottleneck's ReLUs open so the gate sees every channel
    x = torch.randn(1, 8, 6, 6)
    shuffled = x.flatten(2)[:, :, torch.randperm(36)].view_as(x)  # same channel statistics
    torch.testing.assert_close(ca.gate(shuffled), ca.gate(x))
    shifted = x.clone()
    shifted[:, 3] += 2.0  # one channel's mean moves
    assert (ca.gate(shifted) - ca.gate(x)).abs().max() > 1e-3


def test_channel_attention_with_zero_last_conv_gates_at_one_half() -> None:
    ca = ChannelAttention(n_feats=16, reduction=4)
    nn.init.zeros_(ca.excite[2].weight)
    nn.init.zeros_(ca.excite[2].bias)
    x = torch.randn(3, 16, 4, 5)
    assert torch.equal(ca.gate(x), torch.full((3, 16, 1, 1), 0.5))
    assert torch.equal(ca(x), x * 0.5)


def test_channel_attention_keeps_at_least_one_hidden_channel() -> None:
    assert ChannelAttention(n_feats=8, reduction=16).excite[0].out_channels == 1
    assert ChannelAttention(n_feats=64, reduction=16).excite[0].out_channels == 4


@pytest.mark.parametrize("reduction", [0, -4])
def test_channel_attention_rejects_bad_reduction(reduction: int) -> None:
    with pytest.raises(ValueError, match=f"reduction={reduction}"):
        ChannelAttention(n_feats=8, reduction=reduction)


def test_multi_scale_attention_map_range_product_and_branches() -> None:
    torch.manual_seed(0)
    msa = MultiScaleAttention(n_feats=16, kernel_sizes=(3, 5, 7), reduction=4)
    assert [b[0].kernel_size for b in msa.branches] == [(3, 3), (5, 5), (7, 7)]
    assert [b[0].out_channels for b in msa.branches] == [4, 4, 4]
    assert all(isinstance(b[1], nn.ReLU) for b in msa.branches)
    assert (msa.fuse.in_channels, msa.fuse.out_channels, msa.fuse.kernel_size) == (12, 16, (1, 1))
    x = torch.randn(2, 16, 9, 11)
    att = msa.attention_map(x)
    assert att.shape == x.shape and (att > 0).all() and (att < 1).all()
    assert torch.equal(msa(x), x * att)
    feats = torch.cat([b(x) for b in msa.branches], dim=1)
    torch.testing.assert_close(att, torch.sigmoid(msa.fuse(feats)))


@pytest.mark.parametrize("kernel_sizes", [(3, 5, 7), (3, 5), (1, 3)])
def test_multi_scale_attention_receptive_field_is_the_largest_kernel(kernel_sizes: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    msa = MultiScaleAttention(n_feats=8, kernel_sizes=kernel_sizes, reduction=4)
    with torch.no_grad():
        for branch in msa.branches:
            branch[0].bias.fill_(5.0)  # keep every ReLU open so no path is cut by chance
    x = torch.rand(1, 8, 21, 21)
    bumped = x.clone()
    bumped[:, :, 10, 10] += 1.0
    changed = (msa.attention_map(bumped) - msa.attention_map(x)).abs().amax(dim=(0, 1)) > 0
    r = max(kernel_sizes) // 2
    expected = torch.zeros(21, 21, dtype=torch.bool)
    expected[10 - r : 11 + r, 10 - r : 11 + r] = True
    assert torch.equal(changed, expected)


@pytest.mark.parametrize("kernel_sizes", [(), (4,), (3, 6), (0,), (-3, 3)])
def test_multi_scale_attention_rejects_bad_kernel_sizes(kernel_sizes: tuple[int, ...]) -> None:
    named = re.escape(str(kernel_sizes))
    with pytest.raises(ValueError, match=named):
        MultiScaleAttention(n_feats=8, kernel_sizes=kernel_sizes)


def test_multi_scale_attention_rejects_bad_reduction() -> None:
    with pytest.raises(ValueError, match="reduction=0"):
        MultiScaleAttention(n_feats=8, reduction=0)
