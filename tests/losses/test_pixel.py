from __future__ import annotations

import pytest
import torch

from sr_lightning.losses import CharbonnierLoss


def test_charbonnier_known_values_and_reductions() -> None:
    x, y = torch.zeros(1, 1, 2, 2), torch.tensor([[[[0.0, 3.0], [4.0, 0.0]]]])
    loss = CharbonnierLoss(eps=1e-3, reduction="none")(x, y)
    expected = torch.sqrt((x - y) ** 2 + 1e-6)
    assert torch.allclose(loss, expected)
    assert CharbonnierLoss(eps=1e-3)(x, y).item() == pytest.approx(expected.mean().item())
    assert CharbonnierLoss(eps=1e-3, reduction="sum")(x, y).item() == pytest.approx(expected.sum().item())


def test_charbonnier_approaches_l1_for_large_errors_and_has_gradient_at_zero() -> None:
    x = torch.zeros(10, requires_grad=True)
    y = torch.linspace(1, 10, 10)
    assert CharbonnierLoss(eps=1e-6)(x, y).item() == pytest.approx(torch.nn.L1Loss()(x, y).item(), rel=1e-6)
    z = torch.zeros(3, requires_grad=True)
    CharbonnierLoss()(z, torch.zeros(3)).backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"reduction": "avg"}])
def test_charbonnier_rejects_bad_arguments(kwargs) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        CharbonnierLoss(**kwargs)
