"""SRResNet's ``block_layer``/``block_args``: the SE and attention generators are SRResNets with another block class.

The expected state-dict layouts below were recorded from the code before these generators passed real classes
(when they handed SRResNet a ``cast`` partial and a closure): checkpoints and the shipped weights depend on them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from sr_lightning.models import (
    AttentionResidualBlock,
    AttentionSRGANGenerator,
    ResidualBlock,
    SEResidualBlock,
    SESRResNet,
    SRResNet,
    network_spec,
)
from sr_lightning.weights import build_generator


def _layout(net: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(value.shape)) for key, value in net.state_dict().items()]


def _digest(layout: list[tuple[str, tuple[int, ...]]]) -> str:
    """sha256 of the JSON of the ordered (key, shape) pairs, first 16 hex digits."""
    return hashlib.sha256(json.dumps(layout).encode()).hexdigest()[:16]


# name -> (constructor, number of entries, digest of the (key, shape) list, a few (key, shape) pairs)
_RECORDED: dict[str, tuple[Any, int, str, list[tuple[str, tuple[int, ...]]]]] = {
    "se": (
        lambda: SESRResNet(scale=4, n_resblocks=2, n_feats=16, reduction=4),
        31,
        "cd2ff7353426de9e",
        [("body.0.body.2.weight", (16, 16, 3, 3)), ("body.1.attention.excite.0.weight", (4, 16, 1, 1))],
    ),
    "se_batch_norm": (
        lambda: SESRResNet(scale=3, n_resblocks=2, n_feats=16, batch_norm=True, reduction=8),
        48,
        "fb23b9334ca6251b",
        [("body.0.body.4.running_var", (16,)), ("body.1.attention.excite.2.weight", (16, 2, 1, 1))],
    ),
    "se_default": (
        lambda: SESRResNet(),
        157,
        "2b9914ab1dca2316",
        [("body.15.attention.excite.0.weight", (4, 64, 1, 1))],
    ),
    "attention": (
        lambda: AttentionSRGANGenerator(scale=4, n_resblocks=2, n_feats=16, norm_groups=4, reduction=4),
        49,
        "ec9d8e6abdffa984",
        [("body.0.body.5.weight", (1,)), ("body.1.body.7.bias", (16,)), ("body.1.attention.excite.0.bias", (4,))],
    ),
    "attention_default": (
        lambda: AttentionSRGANGenerator(),
        301,
        "62ee828f2fd8fe88",
        [("body.15.body.6.weight", (64, 64, 3, 3)), ("body.15.attention.excite.2.weight", (64, 4, 1, 1))],
    ),
    "srresnet": (
        lambda: SRResNet(scale=4, n_resblocks=2, n_feats=8),
        23,
        "c54da07fb86f619e",
        [("body.1.body.1.weight", (1,)), ("upsampler.5.weight", (1,)), ("tail.weight", (3, 8, 9, 9))],
    ),
    "srresnet_batch_norm": (
        lambda: SRResNet(scale=2, n_resblocks=2, n_feats=8, batch_norm=True, output_activation="tanh"),
        40,
        "512ad9c13b2257d1",
        [("body.0.body.4.num_batches_tracked", ()), ("body.3.running_mean", (8,))],
    ),
}


@pytest.mark.parametrize("name", sorted(_RECORDED))
def test_state_dict_layout_is_the_recorded_one(name: str) -> None:
    build, count, digest, samples = _RECORDED[name]
    layout = _layout(build())
    assert len(layout) == count
    for pair in samples:
        assert pair in layout
    assert _digest(layout) == digest


def test_se_srresnet_is_srresnet_with_the_se_block() -> None:
    torch.manual_seed(0)
    se = SESRResNet(scale=2, n_resblocks=2, n_feats=16, reduction=4)
    plain = SRResNet(scale=2, n_resblocks=2, n_feats=16, block_layer=SEResidualBlock, block_args={"reduction": 4})
    assert _layout(plain) == _layout(se)
    plain.load_state_dict(se.state_dict())
    x = torch.rand(1, 3, 6, 5)
    torch.testing.assert_close(plain(x), se(x))


def test_attention_generator_is_srresnet_with_wus_block() -> None:
    torch.manual_seed(0)
    wu = AttentionSRGANGenerator(scale=2, n_resblocks=2, n_feats=8, norm_groups=2, reduction=4)
    plain = SRResNet(
        scale=2,
        n_resblocks=2,
        n_feats=8,
        output_activation="tanh",
        block_layer=AttentionResidualBlock,
        block_args={"norm_groups": 2, "reduction": 4},
    )
    assert _layout(plain) == _layout(wu)
    plain.load_state_dict(wu.state_dict())
    x = torch.rand(1, 3, 5, 6)
    torch.testing.assert_close(plain(x), wu(x))


class _GatedBlock(nn.Module):
    """A block of one's own: ``x + gate * conv(act(x))``, taking SRResNet's keywords plus its own ``gate``."""

    def __init__(
        self, n_feats: int, act_layer: type[nn.Module], norm_layer: type[nn.Module] | None, gate: float = 1.0
    ) -> None:
        super().__init__()
        self.act = act_layer()
        self.conv = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.norm = norm_layer(n_feats) if norm_layer is not None else nn.Identity()
        self.gate = gate

    def forward(self, x: Tensor) -> Tensor:
        return x + self.gate * self.norm(self.conv(self.act(x)))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_custom_block_gets_the_frame_keywords_and_its_block_args(batch_norm: bool) -> None:
    net = SRResNet(scale=2, n_resblocks=3, n_feats=8, batch_norm=batch_norm, block_layer=_GatedBlock,
                   block_args={"gate": 0.0})  # fmt: skip
    blocks = list(net.body)[:3]
    assert all(isinstance(b, _GatedBlock) and b.gate == 0.0 for b in blocks)
    assert all(isinstance(b.act, nn.PReLU) for b in blocks)  # SRResNet's activation reaches the block
    assert all(isinstance(b.norm, nn.BatchNorm2d if batch_norm else nn.Identity) for b in blocks)
    # gate 0 makes every block the identity: the body is then only the closing conv (and BN) around the skip
    net.eval()
    x = torch.rand(2, 3, 5, 4)
    features = net.head(x)
    tail = list(net.body)[3:]
    expected = net.tail(net.upsampler(features + nn.Sequential(*tail)(features)))
    torch.testing.assert_close(net(x), expected)


def test_block_args_reach_the_default_block() -> None:
    net = SRResNet(scale=2, n_resblocks=2, n_feats=8, block_args={"res_scale": 0.1, "kernel_size": 5})
    blocks = [m for m in net.body if isinstance(m, ResidualBlock)]
    assert len(blocks) == 2 and all(b.res_scale == 0.1 and b.body[0].kernel_size == (5, 5) for b in blocks)


def test_a_block_argument_the_block_lacks_is_named() -> None:
    with pytest.raises(TypeError, match="reduction"):
        SRResNet(scale=2, n_resblocks=1, n_feats=8, block_args={"reduction": 4})


def test_attention_block_takes_another_norm_and_activation() -> None:
    block = AttentionResidualBlock(n_feats=6, norm_groups=4, reduction=2, act_layer=nn.ReLU, norm_layer=nn.BatchNorm2d)
    assert [type(m) for m in block.body] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 2 + [nn.Conv2d, nn.BatchNorm2d]
    with pytest.raises(ValueError, match="norm_groups=4"):
        AttentionResidualBlock(n_feats=6, norm_groups=4)  # GroupNorm, the default norm, needs a divisor


@pytest.mark.parametrize(
    "build",
    [
        lambda: SESRResNet(scale=2, n_resblocks=1, n_feats=8, reduction=4),
        lambda: AttentionSRGANGenerator(scale=2, n_resblocks=1, n_feats=8, norm_groups=2, reduction=2),
        lambda: SRResNet(scale=2, n_resblocks=1, n_feats=8, block_layer=SEResidualBlock, block_args={"reduction": 2}),
    ],
    ids=["se", "attention", "srresnet_with_se_block"],
)
def test_recorded_spec_rebuilds_the_same_network(build: Any) -> None:
    # what checkpoints record (generator_record) must build the network again through jsonargparse
    net = build()
    spec = network_spec(net)
    assert spec is not None
    json.dumps(spec)  # plain data, as a checkpoint or YAML holds it
    rebuilt = build_generator(spec, "the test spec")
    assert type(rebuilt) is type(net) and _layout(rebuilt) == _layout(net)
    rebuilt.load_state_dict(net.state_dict())


def test_srresnet_spec_records_the_block_as_a_class_path() -> None:
    net = SRResNet(scale=2, n_resblocks=1, n_feats=8, block_layer=SEResidualBlock, block_args={"reduction": 2})
    init_args = network_spec(net)["init_args"]  # type: ignore[index]
    assert init_args["block_layer"] == "sr_lightning.models.se_srresnet.SEResidualBlock"
    assert init_args["block_args"] == {"reduction": 2}
