"""The attention SRGAN generator (Wu, section 3.1): three-conv GroupNorm blocks with channel attention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sr_lightning.models import AttentionResidualBlock, AttentionSRGANGenerator, ChannelAttention


def test_blocks_have_three_convs_three_groupnorms_and_channel_attention() -> None:
    net = AttentionSRGANGenerator(scale=4)
    blocks = [m for m in net.body if isinstance(m, AttentionResidualBlock)]
    assert len(blocks) == 16
    for b in blocks:
        convs = [m for m in b.body if isinstance(m, nn.Conv2d)]
        norms = [m for m in b.body if isinstance(m, nn.GroupNorm)]
        assert len(convs) == 3 and all(c.kernel_size == (3, 3) and c.out_channels == 64 for c in convs)
        assert len(norms) == 3 and all(n.num_groups == 32 for n in norms)
        assert [type(m) for m in b.body] == [nn.Conv2d, nn.GroupNorm, nn.PReLU] * 2 + [nn.Conv2d, nn.GroupNorm]
        assert isinstance(b.attention, ChannelAttention) and b.attention.excite[0].out_channels == 4
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert net.head[0].kernel_size == (9, 9) and isinstance(net.head[1], nn.PReLU)
    assert net.tail.kernel_size == (9, 9) and net.output_activation == "tanh"
    assert sum(isinstance(m, nn.PixelShuffle) for m in net.upsampler) == 2


def test_attention_block_formula_and_identity() -> None:
    torch.manual_seed(0)
    block = AttentionResidualBlock(n_feats=16, norm_groups=4, reduction=4)
    x = torch.randn(2, 16, 5, 5)
    branch = block.body(x)
    torch.testing.assert_close(block(x), x + branch * block.attention.gate(branch))
    nn.init.zeros_(block.body[-1].weight)  # the last GroupNorm's scale and shift: a zero branch
    nn.init.zeros_(block.body[-1].bias)
    assert torch.equal(block(x), x)


def test_tanh_output_is_the_leftthomas_mapping_of_the_linear_output() -> None:
    torch.manual_seed(0)
    tanh_net = AttentionSRGANGenerator(scale=2, n_resblocks=1, n_feats=8, norm_groups=2, reduction=4)
    linear_net = AttentionSRGANGenerator(
        scale=2, n_resblocks=1, n_feats=8, norm_groups=2, reduction=4, output_activation="none"
    )
    linear_net.load_state_dict(tanh_net.state_dict())
    x = torch.rand(1, 3, 6, 5)
    y = tanh_net(x)
    torch.testing.assert_close(y, (torch.tanh(linear_net(x)) + 1) / 2)
    with torch.no_grad():
        tanh_net.tail.bias.fill_(-100.0)
    assert torch.equal(tanh_net(x), torch.zeros_like(y))


@pytest.mark.parametrize(("n_feats", "norm_groups"), [(8, 3), (64, 0), (64, 48)])
def test_norm_groups_must_divide_n_feats(n_feats: int, norm_groups: int) -> None:
    with pytest.raises(ValueError, match=f"norm_groups={norm_groups} must be a positive divisor of n_feats={n_feats}"):
        AttentionSRGANGenerator(n_feats=n_feats, norm_groups=norm_groups)


def test_unknown_output_activation_is_named() -> None:
    with pytest.raises(ValueError, match="'sigmoid'"):
        AttentionSRGANGenerator(output_activation="sigmoid")  # type: ignore[arg-type]
