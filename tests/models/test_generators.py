"""Every generator keeps the contract: (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with a `scale` attribute."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import sr_lightning.models as models
from sr_lightning.models import (
    EDSR,
    EDSRMSA,
    AttentionSRGANGenerator,
    MeanShift,
    ResidualBlock,
    SESRResNet,
    SRResNet,
)

TINY: dict[str, Callable[[int], nn.Module]] = {
    "EDSR": lambda s: EDSR(scale=s, n_resblocks=2, n_feats=8),
    "EDSR-res_scale": lambda s: EDSR(scale=s, n_resblocks=2, n_feats=8, res_scale=0.1),
    "SRResNet": lambda s: SRResNet(scale=s, n_resblocks=2, n_feats=8),
    "SRResNet-BN-tanh": lambda s: SRResNet(
        scale=s, n_resblocks=2, n_feats=8, batch_norm=True, output_activation="tanh"
    ),
    "EDSRMSA": lambda s: EDSRMSA(scale=s, n_resblocks=2, n_feats=8),
    "EDSRMSA-all-scales": lambda s: EDSRMSA(scale=s, scales=(2, 3, 4), n_resblocks=2, n_feats=8, kernel_sizes=(3, 5)),
    "SESRResNet": lambda s: SESRResNet(scale=s, n_resblocks=2, n_feats=8, reduction=4),
    "SESRResNet-BN-tanh": lambda s: SESRResNet(
        scale=s, n_resblocks=2, n_feats=8, batch_norm=True, output_activation="tanh", reduction=4
    ),
    "AttentionSRGAN": lambda s: AttentionSRGANGenerator(scale=s, n_resblocks=2, n_feats=8, norm_groups=4, reduction=4),
    "AttentionSRGAN-linear": lambda s: AttentionSRGANGenerator(
        scale=s, n_resblocks=2, n_feats=8, norm_groups=4, reduction=4, output_activation="none"
    ),
}


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_contract_shape_scale_and_gradient(name: str, scale: int) -> None:
    torch.manual_seed(0)
    net = TINY[name](scale)
    assert net.scale == scale
    x = torch.rand(2, 3, 7, 9)  # odd sizes on purpose
    y = net(x)
    assert y.shape == (2, 3, 7 * scale, 9 * scale)
    assert torch.isfinite(y).all()
    y.mean().backward()
    first_conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("scale", [1, 5, 8])
@pytest.mark.parametrize("cls", [EDSR, SRResNet, EDSRMSA, SESRResNet, AttentionSRGANGenerator])
def test_unsupported_scale_names_the_value(cls: type[nn.Module], scale: int) -> None:
    with pytest.raises(ValueError, match=f"scale={scale}"):
        cls(scale=scale)


@pytest.mark.parametrize("scale", [1, 5, 8])
def test_unsupported_scale_in_scales_names_the_value(scale: int) -> None:
    with pytest.raises(ValueError, match=f"scale={scale}"):
        EDSRMSA(scale=2, scales=(2, scale), n_resblocks=1, n_feats=8)


@pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")
@pytest.mark.parametrize("name", sorted(TINY))
def test_torchscript_matches_eager(name: str) -> None:
    torch.manual_seed(0)
    net = TINY[name](3).eval()
    scripted = torch.jit.script(net)
    x = torch.rand(2, 3, 7, 9)
    with torch.no_grad():
        expected, got = net(x), scripted(x)
    assert got.shape == (2, 3, 21, 27)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(TINY))
def test_compiles_without_graph_breaks_and_matches_eager(name: str) -> None:
    # backend="eager" checks that Dynamo captures the whole forward (fullgraph) without paying for inductor.
    torch.manual_seed(0)
    torch._dynamo.reset()
    net = TINY[name](2).eval()
    compiled = torch.compile(net, backend="eager", fullgraph=True)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), rtol=0, atol=1e-5)


def test_edsr_baseline_has_published_parameter_count() -> None:
    # EDSR-baseline x2: 1.37 M parameters (Lim et al. 2017, Table 1).
    params = sum(p.numel() for p in EDSR(scale=2).parameters())
    assert round(params / 1e6, 2) == 1.37


def test_edsr_abram_sadik_configuration() -> None:
    net = EDSR(scale=4, n_resblocks=32, n_feats=256, res_scale=0.1)
    blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 32 and all(b.res_scale == 0.1 for b in blocks)
    # EDSR (full) x4 has 43 M parameters.
    assert round(sum(p.numel() for p in net.parameters()) / 1e6) == 43


def test_srresnet_matches_srgan_parameter_count() -> None:
    # SRGAN's generator (BatchNorm, x4, 16 blocks x 64) has 1.55 M parameters.
    net = SRResNet(scale=4, batch_norm=True, output_activation="tanh")
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == 1.55
    assert not any(isinstance(m, nn.BatchNorm2d) for m in SRResNet(scale=4).modules())


def test_mean_shift_round_trip_and_buffer() -> None:
    sub, add = MeanShift(sign=-1), MeanShift(sign=1)
    x = torch.rand(1, 3, 4, 4)
    assert torch.allclose(add(sub(x)), x)
    assert "mean" in dict(sub.named_buffers())
    assert torch.allclose(sub(torch.zeros(1, 3, 1, 1)).flatten(), -torch.tensor([0.4488, 0.4371, 0.4040]))


def test_tanh_output_stays_in_unit_range() -> None:
    net = SRResNet(scale=2, n_resblocks=1, n_feats=8, output_activation="tanh")
    with torch.no_grad():
        net.tail.bias.fill_(100.0)
    y = net(torch.rand(1, 3, 5, 5))
    assert y.min() >= 0 and y.max() <= 1 and torch.allclose(y, torch.ones_like(y))


def test_residual_block_is_identity_when_branch_is_zero() -> None:
    block = ResidualBlock(n_feats=4)
    nn.init.zeros_(block.body[-1].weight)
    nn.init.zeros_(block.body[-1].bias)
    x = torch.randn(1, 4, 5, 5)
    assert torch.equal(block(x), x)


def test_models_package_never_imports_lightning() -> None:
    for path in Path(models.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(m.split(".")[0] in {"lightning", "pytorch_lightning"} for m in imported), path
