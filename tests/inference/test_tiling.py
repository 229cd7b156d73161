"""Tiled upscaling: exact for a bounded receptive field, seam-free otherwise, bounded tiles."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from sr_lightning.inference import tile_spans, tiled_upscale
from sr_lightning.models import EDSR


def test_tiles_cover_the_image_with_bounded_context() -> None:
    spans = tile_spans(100, 32, 8)
    cores = [(start, end) for start, end, _, _ in spans]
    assert cores == [(0, 32), (32, 64), (64, 96), (96, 100)]
    for start, end, in_start, in_end in spans:
        assert in_start == max(0, start - 8) and in_end == min(100, end + 8)


def test_tiled_equals_untiled_when_the_receptive_field_fits_the_overlap() -> None:
    # 1-block EDSR: 5 LR-resolution 3x3 convs and one HR conv, a receptive field radius of about 6 LR pixels.
    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=1, n_feats=8).eval()
    lr = torch.rand(2, 3, 45, 61)
    with torch.no_grad():
        whole = model(lr)
        tiled = tiled_upscale(model, lr, scale=2, tile=16, overlap=16)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() < 1e-5
    # With too little context the cut edges show up in the result: the exactness above is not a given.
    with torch.no_grad():
        short = tiled_upscale(model, lr, scale=2, tile=16, overlap=2)
    assert (short - whole).abs().max().item() > 1e-3


def test_tiles_cross_fade_instead_of_leaving_seams() -> None:
    # A "model" with global context: every tile becomes its own mean colour. Cut without blending, neighbouring
    # tiles would jump by the difference of their means from one pixel to the next.
    def tile_mean(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") * 0 + x.mean(dim=(-2, -1), keepdim=True)

    lr = torch.linspace(0, 1, 64).repeat(1, 3, 64, 1)  # a horizontal ramp: the tiles' means differ
    out = tiled_upscale(tile_mean, lr, scale=2, tile=16, overlap=8)
    jumps = (out[..., 1:] - out[..., :-1]).abs().max().item()
    tile_means = [lr[..., max(0, s - 8) : e + 8].mean().item() for s, e, _, _ in tile_spans(64, 16, 8)]
    largest_step = max(abs(a - b) for a, b in itertools.pairwise(tile_means))
    # The ramp spreads each step over overlap * scale / 2 = 8 output pixels.
    assert jumps <= largest_step / 8 + 1e-6
    assert largest_step > 0.1


def test_progress_output_device_and_errors() -> None:
    calls = []
    nearest = lambda x: F.interpolate(x, scale_factor=3, mode="nearest")  # noqa: E731
    lr = torch.rand(1, 3, 20, 30)
    out = tiled_upscale(
        nearest, lr, scale=3, tile=8, overlap=2, output_device="cpu", progress=lambda d, t: calls.append((d, t))
    )
    assert torch.allclose(out, nearest(lr))
    assert calls == [(i, 12) for i in range(1, 13)]  # 3 rows x 4 columns of tiles
    assert torch.equal(tiled_upscale(nearest, lr, scale=3, tile=None), nearest(lr))
    with pytest.raises(ValueError, match=r"gave \(1, 3, 24, 24\) for a tile, expected \(1, 3, 16, 16\)"):
        tiled_upscale(nearest, lr, scale=2, tile=8, overlap=0)
    with pytest.raises(ValueError, match="tile must be"):
        tiled_upscale(nearest, lr, scale=3, tile=0)
    with pytest.raises(ValueError, match="overlap must be"):
        tiled_upscale(nearest, lr, scale=3, tile=8, overlap=-1)
