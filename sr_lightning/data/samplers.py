"""A sampler that makes random training patches reproducible, whatever the number of DataLoader workers.

Random crops and flips drawn from a global or per-worker random state change when ``num_workers`` changes,
because each worker has its own stream. :class:`SeededPatchSampler` moves the randomness into the main process:
it yields keys ``(index, draw_seed)`` and the dataset seeds a private ``torch.Generator`` with ``draw_seed`` for
that one item. The keys depend only on ``(seed, epoch)``, so a run's batches are the same with 0 or 8 workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DistributedSampler

__all__ = ["SeededPatchSampler"]

_DRAW_SEED_HIGH = 2**62


def _mix(seed: int, epoch: int) -> int:
    """A 64-bit generator seed from (seed, epoch), well spread even for neighbouring values."""
    state = np.random.SeedSequence([seed % 2**64, epoch]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


class SeededPatchSampler(DistributedSampler):
    """Shuffles item indices and gives each draw its own seed, from ``(seed, epoch)`` only.

    Each pass yields every index in ``range(num_items)`` once, in an order drawn from a ``torch.Generator``
    seeded by ``(seed, epoch)``, each paired with a draw seed from the same generator. Lightning calls
    :meth:`set_epoch` at the start of every training epoch; without it (a plain loop) the sampler moves to the
    next epoch by itself after each complete pass, so consecutive passes differ. A pass stopped early does not
    advance the epoch.

    Under DDP each of ``num_replicas`` processes takes every ``num_replicas``-th key of the same order, starting at
    its ``rank`` (the order is padded by repeating its first keys to a multiple of ``num_replicas``, as
    ``DistributedSampler`` does). It is a ``DistributedSampler``, so Lightning uses it as it is and gives it the
    epoch itself (instead of wrapping it, which would hide :meth:`set_epoch`): a resumed DDP run draws the same
    patches as an uninterrupted one.

    Args:
        num_items: the dataset length.
        seed: the run's seed.
        num_replicas: the number of processes sharing the epoch.
        rank: this process's index among them.

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

    def __init__(self, num_items: int, seed: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        if num_items < 1:
            raise ValueError(f"SeededPatchSampler needs num_items >= 1, got {num_items}.")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"SeededPatchSampler needs 0 <= rank < num_replicas, got rank {rank} of {num_replicas}.")
        # DistributedSampler's own __init__ would ask torch.distributed for the world: set its fields directly.
        self.num_items = num_items
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.num_samples = math.ceil(num_items / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = True
        self.drop_last = False
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of the next pass (Lightning calls this at the start of each training epoch)."""
        if epoch < 0:
            raise ValueError(f"SeededPatchSampler epoch must be >= 0, got {epoch}.")
        self._epoch = epoch

    @property  # type: ignore[override]  # DistributedSampler keeps it as a plain attribute
    def epoch(self) -> int:
        """The epoch whose order the next pass yields."""
        return self._epoch

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self._epoch
        generator = torch.Generator().manual_seed(_mix(self.seed, epoch))
        order = torch.randperm(self.num_items, generator=generator).tolist()
        draw_seeds = torch.randint(0, _DRAW_SEED_HIGH, (self.num_items,), generator=generator).tolist()
        keys = list(zip(order, draw_seeds, strict=True))
        keys += keys[: self.total_size - len(keys)]  # padded so that every process gets as many
        yield from keys[self.rank :: self.num_replicas]
        if self._epoch == epoch:  # a complete pass, and nobody chose the next epoch meanwhile
            self._epoch = epoch + 1
