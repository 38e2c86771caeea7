"""Batching for training: rscovlm-model's collators, plus which sample (id, task, data set) owns every token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from rscovlm_model import IGNORE_INDEX, EncodedSample

META_KEY = "sample_meta"


@dataclass
class TrainingItem:
    """One encoded sample of the mixture and where it came from; ``encoded`` is None when it could not be read.

    ``pack`` numbers the pack of its batch the sample belongs to (token-budget packing; 0 otherwise); ``clipped``
    names each box of its target that was brought into the image, with the reason."""

    encoded: EncodedSample | None
    record_id: str
    dataset: str
    task: str
    problem: str | None = None
    pack: int = 0
    clipped: tuple[str, ...] = ()


class TrainingCollator:
    """Wraps a `PaddingCollator` or `PackingCollator` and adds ``sample_meta`` to each batch.

    ``sample_meta`` holds the ids, tasks and data sets of the samples in the batch, ``sample_index`` (a tensor shaped
    like ``input_ids`` giving the sample that owns each position, -1 for padding: the collator's segment ids),
    ``rows`` (rows of the batch) and ``dropped``: the samples left out of this batch as ``(record id, reason)`` (an
    unreadable image, or no supervised token after truncation), and ``clipped``: ``(record id, reason)`` for each box
    of a trained target that was brought into the image.

    A batch with no usable sample is replaced by ``placeholder`` (a short conversation with nothing supervised):
    the step still runs its forward and backward pass, so every rank stays in step, and contributes no loss.
    """

    def __init__(self, inner: Any, placeholder: EncodedSample | None = None) -> None:
        self.inner = inner
        self.placeholder = placeholder

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
            return self._placeholder_batch(dropped)
        collated = self.inner.collate([item.encoded for item in usable], [item.pack for item in usable])
        batch = collated.batch
        batch[META_KEY] = {
            "ids": [item.record_id for item in usable],
            "tasks": [item.task for item in usable],
            "datasets": [item.dataset for item in usable],
            "sample_index": collated.segment_ids,
            "rows": collated.rows,
            "dropped": dropped,
            "clipped": [(item.record_id, reason) for item in usable for reason in item.clipped],
        }
        return batch

    def _placeholder_batch(self, dropped: list[tuple[str, str]]) -> dict[str, Any]:
        reasons = "; ".join(f"{record}: {reason}" for record, reason in dropped)
        if self.placeholder is None:
            raise ValueError(f"no sample of this batch can be trained on ({reasons})")
        sample = self.placeholder
        # the placeholder's labels are all ignored: take a copy that the collator accepts, then blank its labels
        supervised = EncodedSample(sample.input_ids, sample.input_ids.clone(), sample.mm_token_type_ids, None, None)
        batch = self.inner.collate([supervised]).batch
        batch["labels"] = torch.full_like(batch["labels"], IGNORE_INDEX)
        batch[META_KEY] = {
            "ids": [],
            "tasks": [],
            "datasets": [],
            "sample_index": torch.full(batch["input_ids"].shape, -1, dtype=torch.long),
            "rows": 0,
            "dropped": dropped,
            "clipped": [],
        }
        return batch
