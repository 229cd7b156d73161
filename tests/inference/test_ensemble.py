"""Self-ensemble: the mean over the 8 dihedral transforms, each undone on the output."""

from __future__ import annotations

import torch
from torch import nn

from sr_lightning.inference import self_ensemble


def test_self_ensemble_averages_the_eight_transformed_outputs() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)).eval()
    lr = torch.rand(1, 3, 6, 9)  # not square: the transposes change the shape
    with torch.no_grad():
        expected = torch.zeros(1, 3, 12, 18)
        for hflip in (False, True):
            for vflip in (False, True):
                for transpose in (False, True):
                    x = lr.flip(-1) if hflip else lr
                    x = x.flip(-2) if vflip else x
                    x = x.transpose(-2, -1) if transpose else x
                    y = model(x)
                    y = y.transpose(-2, -1) if transpose else y
                    y = y.flip(-2) if vflip else y
                    expected += (y.flip(-1) if hflip else y) / 8
        result = self_ensemble(model, lr)
        plain = model(lr)
    assert torch.allclose(result, expected, atol=1e-6)
    assert not torch.allclose(result, plain, atol=1e-3)  # a random conv is not flip-invariant
