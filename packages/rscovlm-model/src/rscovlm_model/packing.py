"""Bin-packing of sample lengths into sequences of at most ``max_length`` tokens (no torch needed)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

import numpy as np


def pack_lengths(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Group sample indices into bins whose lengths sum to at most ``max_length`` (best-fit decreasing).

    Samples are placed longest first, each into the fullest bin that still has room, in O(n log n). Bins come in the
    order they were opened; indices inside a bin keep their original order.
    """
    too_long = [(i, n) for i, n in enumerate(lengths) if n > max_length]
    if too_long:
        index, length = too_long[0]
        raise ValueError(f"sample {index} has {length} tokens, more than max_length {max_length}; truncate it first")
    bins: list[list[int]] = []
    rooms: list[tuple[int, int]] = []  # (free tokens, bin number), sorted
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        length = lengths[index]
        slot = bisect.bisect_left(rooms, (length, -1))
        if slot < len(rooms):
            room, number = rooms.pop(slot)
        else:
            room, number = max_length, len(bins)
            bins.append([])
        bins[number].append(index)
        bisect.insort(rooms, (room - length, number))
    return [sorted(group) for group in bins]


def real_token_fraction(bins: list[list[int]], lengths: Sequence[int], row_length: int) -> float:
    """Fraction of real (non-pad) tokens when every bin becomes one row of ``row_length`` tokens."""
    if not bins:
        return 0.0
    return sum(lengths[i] for group in bins for i in group) / (len(bins) * row_length)


class PackedBatchSampler:
    """Batch sampler yielding, per step, the indices of samples that fit together in one ``max_length`` sequence.

    Each epoch shuffles the samples (seeded by ``seed + epoch``), packs them window by window (``window`` samples at a
    time, all at once when None), shuffles the bins, and gives every rank of ``world_size`` an equal share.
    Use it with ``PackingCollator``; ``lengths`` are token counts (e.g. from ``encode`` or an estimate that never
    undercounts).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_length: int,
        seed: int = 0,
        window: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        self.lengths = list(lengths)
        self.max_length = max_length
        self.seed = seed
        self.window = window or max(len(self.lengths), 1)
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._planned: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _bins(self) -> list[list[int]]:
        if self._planned is None or self._planned[0] != self.epoch:
            self._planned = (self.epoch, self._plan())
        return self._planned[1]

    def _plan(self) -> list[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(len(self.lengths))
        bins = []
        for start in range(0, len(order), self.window):
            chunk = order[start : start + self.window].tolist()
            packed = pack_lengths([self.lengths[i] for i in chunk], self.max_length)
            bins.extend([chunk[i] for i in group] for group in packed)
        bins = [bins[i] for i in rng.permutation(len(bins))]
        per_rank = len(bins) // self.world_size
        return bins[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._bins())

    def __len__(self) -> int:
        return len(self._bins())
