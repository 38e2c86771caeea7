"""Collators from ``EncodedSample`` lists to model batches: right padding, or packing with per-sample mRoPE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rscovlm_model.packing import pack_lengths
from rscovlm_model.sample import IGNORE_INDEX, EncodedSample
from rscovlm_model.vision_step import qwen_vl_model


@dataclass
class CollatorStats:
    """Running counts of what a collator saw: skipped samples, packs split because they were longer than estimated,
    and the share of real tokens in its batches."""

    samples: int = 0
    skipped_no_labels: int = 0
    truncated: int = 0
    dropped_images: int = 0
    real_tokens: int = 0
    total_tokens: int = 0
    split_packs: int = 0

    @property
    def real_token_fraction(self) -> float:
        return self.real_tokens / self.total_tokens if self.total_tokens else 0.0


def _usable(samples: Sequence[EncodedSample], stats: CollatorStats) -> list[int]:
    """Indices of the samples that truncation left with a supervised token (the others are counted)."""
    kept = []
    for index, sample in enumerate(samples):
        stats.samples += 1
        stats.truncated += int(sample.truncated_tokens > 0)
        stats.dropped_images += sample.dropped_images
        if sample.num_label_tokens == 0:
            stats.skipped_no_labels += 1
        else:
            kept.append(index)
    if not kept:
        raise ValueError(f"none of the {len(samples)} samples in this batch has a supervised token left")
    return kept


@dataclass
class Collated:
    """A model batch, which input sample owns each of its positions (-1: padding), and how many rows it has."""

    batch: dict[str, Any]
    segment_ids: torch.Tensor
    rows: int


def _vision(samples: Sequence[EncodedSample]) -> dict[str, torch.Tensor]:
    with_images = [s for s in samples if s.image_grid_thw is not None]
    if not with_images:
        return {}
    return {
        "pixel_values": torch.cat([s.pixel_values for s in with_images]),
        "image_grid_thw": torch.cat([s.image_grid_thw for s in with_images]),
    }


def _pad_rows(rows: list[torch.Tensor], value: int) -> torch.Tensor:
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=value)


class PaddingCollator:
    """One row per sample, right-padded; the model derives mRoPE positions from ``attention_mask``."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.stats = CollatorStats()

    def __call__(self, samples: Sequence[EncodedSample]) -> dict[str, Any]:
        return self.collate(samples).batch

    def collate(self, samples: Sequence[EncodedSample], packs: Sequence[int] | None = None) -> Collated:
        """The padded batch with its segment ids; ``packs`` is accepted for symmetry with packing and ignored."""
        kept = _usable(samples, self.stats)
        rows = [samples[i] for i in kept]
        input_ids = _pad_rows([s.input_ids for s in rows], self.pad_token_id)
        attention_mask = _pad_rows([torch.ones_like(s.input_ids) for s in rows], 0)
        self.stats.real_tokens += int(attention_mask.sum())
        self.stats.total_tokens += attention_mask.numel()
        owners = torch.tensor(kept)[:, None].expand_as(input_ids).masked_fill(attention_mask == 0, -1)
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": _pad_rows([s.labels for s in rows], IGNORE_INDEX),
            "mm_token_type_ids": _pad_rows([s.mm_token_type_ids for s in rows], 0),
            **_vision(rows),
        }
        return Collated(batch, owners.contiguous(), len(rows))


def _without_first_label(labels: torch.Tensor) -> torch.Tensor:
    out = labels.clone()
    out[0] = IGNORE_INDEX
    return out


class PackingCollator:
    """Packs samples into rows of at most ``max_length`` tokens, each sample keeping its own positions.

    Every sample gets the 3-D mRoPE ``position_ids`` its model's ``get_rope_index`` gives it alone, prefixed by a
    text position row that restarts at 0 per sample. transformers reads that 4-row layout as packed sequences: with
    no ``attention_mask`` it builds a block-diagonal causal mask (sdpa / eager) or runs flash-attention varlen, so
    attention never crosses samples. Flash varlen needs one row, so with flash attention all bins are concatenated
    into a single row. The first label of every sample is ignored, so no token learns to predict the next sample.
    """

    def __init__(self, model: Any, max_length: int, pad_token_id: int, single_row: bool | None = None) -> None:
        self.rope_model = qwen_vl_model(model)
        self.max_length = max_length
        self.pad_token_id = pad_token_id
        if single_row is None:
            single_row = "flash" in str(self.rope_model.config._attn_implementation)
        self.single_row = single_row
        self.stats = CollatorStats()

    def position_ids(self, sample: EncodedSample) -> torch.Tensor:
        """``(4, len(sample))``: text positions, then the temporal/height/width mRoPE positions."""
        with torch.no_grad():
            mrope, _ = self.rope_model.get_rope_index(
                sample.input_ids[None],
                mm_token_type_ids=sample.mm_token_type_ids[None],
                image_grid_thw=sample.image_grid_thw,
            )
        text = torch.arange(len(sample), dtype=mrope.dtype)[None]
        return torch.cat([text, mrope[:, 0].cpu()])

    def __call__(self, samples: Sequence[EncodedSample]) -> dict[str, Any]:
        return self.collate(samples).batch

    def rows(self, samples: Sequence[EncodedSample], kept: list[int], packs: Sequence[int] | None) -> list[list[int]]:
        """Rows of sample indices: each pack of ``packs`` (one pack number per sample) best-fit split into rows of
        at most ``max_length`` tokens (a pack whose length estimate was too low becomes two rows, never truncated);
        all samples packed together when ``packs`` is None."""
        groups: dict[int, list[int]] = {}
        for index in kept:
            groups.setdefault(0 if packs is None else packs[index], []).append(index)
        rows = []
        for group in groups.values():
            bins = pack_lengths([len(samples[i]) for i in group], self.max_length)
            self.stats.split_packs += int(packs is not None and len(bins) > 1)
            rows.extend(sorted([group[i] for i in members] for members in bins))
        return [[i for row in rows for i in row]] if self.single_row else rows

    def collate(self, samples: Sequence[EncodedSample], packs: Sequence[int] | None = None) -> Collated:
        """The packed batch and its segment ids (the index into ``samples`` of each position's owner, -1: pad)."""
        bins = self.rows(samples, _usable(samples, self.stats), packs)
        ids, labels, positions, owners = [], [], [], []
        for group in bins:
            ids.append(torch.cat([samples[i].input_ids for i in group]))
            labels.append(torch.cat([_without_first_label(samples[i].labels) for i in group]))
            positions.append(torch.cat([self.position_ids(samples[i]) for i in group], dim=1))
            owners.append(torch.cat([torch.full((len(samples[i]),), i) for i in group]))
        width = max(len(row) for row in ids)
        padded_positions = torch.stack(
            [torch.cat([p, torch.arange(width - p.shape[1]).expand(4, -1)], dim=1) for p in positions], dim=1
        )
        self.stats.real_tokens += sum(len(row) for row in ids)
        self.stats.total_tokens += width * len(ids)
        batch = {
            "input_ids": _pad_rows(ids, self.pad_token_id),
            "labels": _pad_rows(labels, IGNORE_INDEX),
            "position_ids": padded_positions,
            "use_cache": False,
            **_vision([samples[i] for group in bins for i in group]),
        }
        return Collated(batch, _pad_rows(owners, -1), len(bins))
