"""A sampler that makes random training patches reproducible, whatever the number of DataLoader workers.

Random crops and flips drawn from a global or per-worker random state change when ``num_workers`` changes,
because each worker has its own stream. :class:`SeededPatchSampler` moves the randomness into the main process:
it yields keys ``(index, draw_seed)`` and the dataset seeds a private ``torch.Generator`` with ``draw_seed`` for
that one item. The keys depend only on ``(seed, epoch)``, so a run's batches are the same with 0 or 8 workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["SeededPatchSampler"]

_DRAW_SEED_HIGH = 2**62


def _mix(seed: int, epoch: int) -> int:
    """A 64-bit generator seed from (seed, epoch), well spread even for neighbouring values."""
    state = np.random.SeedSequence([seed % 2**64, epoch]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


class SeededPatchSampler(Sampler[tuple[int, int]]):
    """Shuffles item indices and gives each draw its own seed, from ``(seed, epoch)`` only.

    Each pass yields every index in ``range(num_items)`` once, in an order drawn from a ``torch.Generator``
    seeded by ``(seed, epoch)``, each paired with a draw seed from the same generator. Lightning calls
    :meth:`set_epoch` at the start of every training epoch; without it (a plain loop) the sampler moves to the
    next epoch by itself after each complete pass, so consecutive passes differ. A pass stopped early does not
    advance the epoch.

    Args:
        num_items: the dataset length.
        seed: the run's seed.

    Example:
        >>> sampler = SeededPatchSampler(4, seed=0)
        >>> first = list(sampler)
        >>> sorted(index for index, _ in first)
        [0, 1, 2, 3]
        >>> sampler.epoch
        1
        >>> sampler.set_epoch(0)
        >>> list(sampler) == first
        True
    """

    def __init__(self, num_items: int, seed: int = 0) -> None:
        if num_items < 1:
            raise ValueError(f"SeededPatchSampler needs num_items >= 1, got {num_items}.")
        self.num_items = num_items
        self.seed = seed
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """The epoch whose order the next pass yields."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of the next pass (Lightning calls this at the start of each training epoch)."""
        if epoch < 0:
            raise ValueError(f"SeededPatchSampler epoch must be >= 0, got {epoch}.")
        self._epoch = epoch

    def __len__(self) -> int:
        return self.num_items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self._epoch
        generator = torch.Generator().manual_seed(_mix(self.seed, epoch))
        order = torch.randperm(self.num_items, generator=generator).tolist()
        draw_seeds = torch.randint(0, _DRAW_SEED_HIGH, (self.num_items,), generator=generator).tolist()
        yield from zip(order, draw_seeds, strict=True)
        if self._epoch == epoch:  # a complete pass, and nobody chose the next epoch meanwhile
            self._epoch = epoch + 1
