"""The SRGAN discriminator (Ledig et al. 2017): layer sequence, any patch size, normalization modes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from sr_lightning.models import SRGANDiscriminator


def _convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def test_default_width_has_the_paper_layer_sequence() -> None:
    net = SRGANDiscriminator()
    convs = _convs(net)
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert all(c.kernel_size == (3, 3) for c in convs)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [b.num_features for b in bns] == [64, 128, 128, 256, 256, 512, 512]  # none after the first conv
    acts = [m for m in net.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 9 and all(a.negative_slope == 0.2 for a in acts)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(512 * 6 * 6, 1024), (1024, 1)]
    # A 96-px patch reaches the pool at 6x6, as in the paper: the pool is then the identity.
    assert net.features(torch.rand(1, 3, 96, 96)).shape == (1, 512, 6, 6)


@pytest.mark.parametrize(
    ("norm", "size"), [("batch", 24), ("batch", 50), ("batch", 96), ("batch", 128), ("spectral", 50), ("none", 50)]
)
def test_output_is_one_logit_per_image_for_any_patch_size(norm: str, size: int) -> None:
    torch.manual_seed(0)
    net = SRGANDiscriminator(n_feats=8, norm=norm)  # type: ignore[arg-type]
    x = torch.rand(2, 3, size, size, requires_grad=True)
    y = net(x)
    assert y.shape == (2, 1) and torch.isfinite(y).all()
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_output_is_a_raw_logit() -> None:
    net = SRGANDiscriminator(n_feats=8).eval()
    with torch.no_grad():
        net.classifier[-1].weight.zero_()
        net.classifier[-1].bias.fill_(3.0)
    assert torch.equal(net(torch.rand(2, 3, 32, 32)), torch.full((2, 1), 3.0))


def test_spectral_norm_wraps_every_conv_and_linear_and_drops_batchnorm() -> None:
    torch.manual_seed(0)
    net = SRGANDiscriminator(n_feats=8, norm="spectral")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 10 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert net(torch.rand(2, 3, 24, 24)).shape == (2, 1)
    with torch.no_grad():
        for m in layers:
            for _ in range(100):  # each read of the weight in training mode runs one power iteration
                m.weight  # noqa: B018
        net.eval()
        sigmas = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in layers]
        raw = [torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), ord=2).item() for m in layers]
    assert max(abs(s - 1.0) for s in sigmas) < 1e-3  # the effective weights have unit spectral norm
    assert max(abs(s - 1.0) for s in raw) > 0.1  # which the raw weights do not


def test_no_norm_has_neither_batchnorm_nor_parametrizations() -> None:
    net = SRGANDiscriminator(n_feats=8, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert not any(parametrize.is_parametrized(m) for m in net.modules())
    assert all(c.bias is not None for c in _convs(net))


@pytest.mark.parametrize(("kwargs", "named"), [({"norm": "layer"}, "'layer'"), ({"pool_size": 0}, "pool_size=0")])
def test_bad_arguments_are_named(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        SRGANDiscriminator(n_feats=8, **kwargs)  # type: ignore[arg-type]
