"""A weighted sum of named loss terms, configured from YAML: Dwivedi et al.'s vanilla and hybrid losses are instances.

Dwivedi et al.'s vanilla loss is ``{mse: 1.0, ssim: 0.1, vgg: 0.1}`` over ``nn.MSELoss``, :class:`SSIMLoss` and
:class:`VGGPerceptualLoss` (``criterion="mse"``); its hybrid loss is ``{lpips: 0.4, ssim: 0.3, charbonnier: 0.2,
edge: 0.1}`` over :class:`LPIPSLoss`, :class:`SSIMLoss`, :class:`CharbonnierLoss` and :class:`SobelEdgeLoss`::

    loss:
      class_path: sr_lightning.losses.WeightedLoss
      init_args:
        terms:
          mse: {class_path: torch.nn.MSELoss}
          ssim: {class_path: sr_lightning.losses.SSIMLoss}
        weights: {mse: 1.0, ssim: 0.1}
"""

from __future__ import annotations

import math

from torch import Tensor, nn

__all__ = ["WeightedLoss"]


class WeightedLoss(nn.Module):
    """``sum_k w_k * term_k(sr, hr)`` over named loss modules; each term can be logged by name.

    Args:
        terms: ``{name: loss module}``; each is called as ``term(sr, hr)`` and returns a scalar.
        weights: ``{name: weight}``; a missing name weighs 1.0. A term with weight 0 is not computed at all.

    Raises:
        ValueError: no terms, a weight for a name that is not a term, a non-finite weight, or all weights zero.

    Example:
        >>> import torch
        >>> loss = WeightedLoss({"l1": torch.nn.L1Loss(), "mse": torch.nn.MSELoss()}, weights={"mse": 0.5})
        >>> total, parts = loss.compute(torch.zeros(2), torch.tensor([1.0, 3.0]))
        >>> total.item(), {k: v.item() for k, v in parts.items()}
        (4.5, {'l1': 2.0, 'mse': 5.0})
    """

    def __init__(self, terms: dict[str, nn.Module], weights: dict[str, float] | None = None) -> None:
        super().__init__()
        if not terms:
            raise ValueError("WeightedLoss needs at least one term, got an empty terms dict.")
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(terms))
        if unknown:
            raise ValueError(f"weights given for {unknown}, which are not terms; the terms are {sorted(terms)}.")
        for name, weight in weights.items():
            if not math.isfinite(weight):
                raise ValueError(f"the weight of term {name!r} must be finite, got {weight!r}.")
        self.terms = nn.ModuleDict(terms)
        self.weights = {name: float(weights.get(name, 1.0)) for name in terms}
        if all(w == 0 for w in self.weights.values()):
            raise ValueError(f"every weight of WeightedLoss is zero: {self.weights}.")

    def compute(self, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The weighted total and each computed term, unweighted, by name (for logging as ``train/loss_<name>``).

        Terms of weight 0 are skipped: neither computed nor returned. The returned terms are the tensors summed into
        the total (still attached to the graph).
        """
        parts: dict[str, Tensor] = {}
        total: Tensor | None = None
        for name, term in self.terms.items():
            weight = self.weights[name]
            if weight == 0:
                continue
            parts[name] = value = term(sr, hr)
            total = weight * value if total is None else total + weight * value
        assert total is not None  # at least one weight is nonzero, checked in __init__
        return total, parts

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return self.compute(sr, hr)[0]

    def extra_repr(self) -> str:
        return f"weights={self.weights}"
