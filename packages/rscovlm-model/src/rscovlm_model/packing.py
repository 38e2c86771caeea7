"""Bin-packing of sample lengths into sequences of at most ``max_length`` tokens (no torch needed)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Sequence


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


Key = tuple[int, int, int]  # (epoch, sample key, pack number within its batch)


class PackedBatchSampler:
    """Batch sampler over packs: samples that fit together in rows of ``max_length`` tokens.

    The samples come in the order ``order(epoch)`` gives: for training, the mixture sampler's order of the whole
    epoch, all ranks together. Consecutive windows of ``window`` samples are best-fit packed, so packs follow that
    order window by window. Pack ``j`` of the epoch goes to rank ``j % world_size``; when the packs do not divide
    evenly, the first ones are repeated so that every rank runs the same number of steps (as torch's
    DistributedSampler does). Each batch holds ``packs_per_batch`` packs as ``(epoch, key, pack)`` triples.

    ``lengths(epoch, keys)`` gives the token counts of those keys' samples in that epoch, estimated before encoding;
    counts above ``max_length`` count as ``max_length`` (encoding truncates them). A pack that turns out longer
    once encoded is split by ``PackingCollator``, never truncated. The packs of an epoch do not depend on the world
    size, so a run resumed on another number of processes with the same global batch continues with the same packs.
    """

    def __init__(
        self,
        order: Callable[[int], Sequence[int]],
        lengths: Callable[[int, list[int]], Sequence[int]],
        max_length: int,
        packs_per_batch: int = 1,
        window: int = 1000,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        self.order, self.lengths = order, lengths
        self.max_length, self.packs_per_batch, self.window = max_length, packs_per_batch, window
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._planned: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_packs(self, epoch: int) -> list[list[int]]:
        """Every pack of ``epoch`` (sample keys), over all ranks, in order."""
        if self._planned is None or self._planned[0] != epoch:
            keys = [int(k) for k in self.order(epoch)]
            lengths = [min(int(n), self.max_length) for n in self.lengths(epoch, keys)]
            packs = []
            for start in range(0, len(keys), self.window):
                chunk = keys[start : start + self.window]
                bins = pack_lengths(lengths[start : start + self.window], self.max_length)
                packs.extend([chunk[i] for i in group] for group in sorted(bins))
            self._planned = (epoch, packs)
        return self._planned[1]

    def rank_packs(self, epoch: int) -> list[list[int]]:
        """This rank's packs of ``epoch``, padded so that every rank gets as many."""
        packs = self.epoch_packs(epoch)
        per_rank = math.ceil(len(packs) / self.world_size)
        padded = packs + packs[: per_rank * self.world_size - len(packs)]
        return padded[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[Key]]:
        epoch, packs = self.epoch, self.rank_packs(self.epoch)
        for start in range(0, len(packs), self.packs_per_batch):
            batch = packs[start : start + self.packs_per_batch]
            yield [(epoch, key, number) for number, pack in enumerate(batch) for key in pack]

    def __len__(self) -> int:
        return math.ceil(len(self.rank_packs(self.epoch)) / self.packs_per_batch)

    def state_dict(self) -> dict[str, int]:
        """What decides the packs, and the epoch; the position inside it is the trainer's step count."""
        return {"epoch": self.epoch, "max_length": self.max_length, "window": self.window}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue in ``state``'s epoch; max_length and window must match (they decide the packs)."""
        for name in ("max_length", "window"):
            if int(state[name]) != getattr(self, name):
                raise ValueError(f"cannot resume: saved {name}={state[name]}, this sampler has {getattr(self, name)}")
        self.epoch = int(state["epoch"])
