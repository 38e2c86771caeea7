"""Batching for training: rscovlm-model's collators, plus which sample (id, task, data set) owns every token."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import torch
from rscovlm_model import EncodedSample

META_KEY = "sample_meta"


@dataclass
class TrainingItem:
    """One encoded sample of the mixture and where it came from; ``encoded`` is None when it could not be read."""

    encoded: EncodedSample | None
    record_id: str
    dataset: str
    task: str
    problem: str | None = None


class TrainingCollator:
    """Wraps a `PaddingCollator` or `PackingCollator` and adds ``sample_meta`` to each batch.

    ``sample_meta`` holds the ids, tasks and data sets of the samples in the batch, ``sample_index`` (a tensor shaped
    like ``input_ids`` giving the sample that owns each position, -1 for padding) and ``dropped``: the samples left
    out of this batch as ``(record id, reason)`` (an unreadable image, or no supervised token after truncation).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, items: list[TrainingItem]) -> dict[str, Any]:
        usable, dropped = [], []
        for item in items:
            if item.encoded is None:
                dropped.append((item.record_id, item.problem or "unreadable"))
            elif item.encoded.num_label_tokens == 0:
                dropped.append((item.record_id, "no supervised token left after truncation to max_length"))
            else:
                usable.append(item)
        if not usable:
            reasons = "; ".join(f"{record}: {reason}" for record, reason in dropped)
            raise ValueError(f"no sample of this batch can be trained on ({reasons})")
        batch = self.inner([item.encoded for item in usable])
        batch[META_KEY] = {
            "ids": [item.record_id for item in usable],
            "tasks": [item.task for item in usable],
            "datasets": [item.dataset for item in usable],
            "sample_index": sample_index(batch, [item.encoded for item in usable]),
            "dropped": dropped,
        }
        return batch


def sample_index(batch: dict[str, Any], samples: list[EncodedSample]) -> torch.Tensor:
    """For every position of ``batch["input_ids"]``, the index into ``samples`` of its owner, or -1.

    Padded batches hold one sample per row. Packed batches (``position_ids`` of 4 rows, the first restarting at 0 for
    every sample) are split into segments, each matched to the sample with the same tokens.
    """
    input_ids = batch["input_ids"]
    owners = torch.full(input_ids.shape, -1, dtype=torch.long)
    if "position_ids" not in batch:
        for row, sample in enumerate(samples):
            owners[row, : len(sample)] = row
        return owners
    by_tokens: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        by_tokens[tuple(sample.input_ids.tolist())].append(index)
    text_positions = batch["position_ids"][0]
    for row in range(input_ids.shape[0]):
        starts = [*torch.nonzero(text_positions[row] == 0).flatten().tolist(), input_ids.shape[1]]
        for start, end in pairwise(starts):
            candidates = by_tokens.get(tuple(input_ids[row, start:end].tolist()))
            if candidates:
                owners[row, start:end] = candidates.pop(0)
    return owners
