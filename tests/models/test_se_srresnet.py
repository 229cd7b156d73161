"""SE-SRResNet (Dwivedi et al., section 2.2): SRResNet plus squeeze-and-excitation in every residual block."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sr_lightning.models import ChannelAttention, ResidualBlock, SEResidualBlock, SESRResNet, SRResNet


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _se_params(n_feats: int, reduction: int) -> int:
    hidden = max(1, n_feats // reduction)
    return (n_feats * hidden + hidden) + (hidden * n_feats + n_feats)  # two 1x1 convs with biases


def test_every_block_is_an_se_block_with_reduction_16() -> None:
    net = SESRResNet(scale=4)
    blocks = [m for m in net.body if isinstance(m, ResidualBlock)]
    assert len(blocks) == 16 and all(isinstance(b, SEResidualBlock) for b in blocks)
    for b in blocks:
        assert isinstance(b.attention, ChannelAttention)
        assert b.attention.excite[0].out_channels == 64 // 16
        assert [type(m) for m in b.body] == [nn.Conv2d, nn.PReLU, nn.Conv2d]  # no BatchNorm in Dwivedi et al.


@pytest.mark.parametrize(("batch_norm", "reduction"), [(False, 16), (True, 16), (False, 8)])
def test_parameter_count_is_srresnet_plus_the_se_layers(batch_norm: bool, reduction: int) -> None:
    se = SESRResNet(scale=4, batch_norm=batch_norm, reduction=reduction)
    base = SRResNet(scale=4, batch_norm=batch_norm)
    assert _n_params(se) == _n_params(base) + 16 * _se_params(64, reduction)


def test_srresnet_weights_load_into_the_se_variant() -> None:
    # Same state_dict keys as SRResNet plus the attention's: a trained SRResNet can initialise SE-SRResNet.
    torch.manual_seed(0)
    base = SRResNet(scale=2, n_resblocks=2, n_feats=16)
    se = SESRResNet(scale=2, n_resblocks=2, n_feats=16)
    assert {k.split(".")[0] for k in base.state_dict()} == {"head", "body", "upsampler", "tail"}
    missing, unexpected = se.load_state_dict(base.state_dict(), strict=False)
    assert unexpected == [] and missing and all(".attention." in k for k in missing)
    assert torch.equal(se.head[0].weight, base.head[0].weight)


def test_se_residual_block_formula_and_identity() -> None:
    torch.manual_seed(0)
    block = SEResidualBlock(n_feats=32, reduction=16)
    assert isinstance(block.body[1], nn.PReLU)
    x = torch.randn(2, 32, 5, 6)
    branch = block.body(x)
    torch.testing.assert_close(block(x), x + branch * block.attention.gate(branch))
    nn.init.zeros_(block.body[-1].weight)
    nn.init.zeros_(block.body[-1].bias)
    assert torch.equal(block(x), x)


def test_se_residual_block_takes_the_residual_block_keywords() -> None:
    block = SEResidualBlock(n_feats=8, kernel_size=5, res_scale=0.5, act_layer=nn.ReLU, norm_layer=nn.BatchNorm2d)
    assert [type(m) for m in block.body] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    assert block.body[0].kernel_size == (5, 5) and block.res_scale == 0.5
    assert block.attention.excite[0].out_channels == 1  # max(1, 8 // 16)
