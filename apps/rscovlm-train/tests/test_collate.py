"""Every token of a padded or packed batch is owned by the right sample (what per-task losses rest on)."""

from __future__ import annotations

import torch
from rscovlm_model import PackingCollator, PaddingCollator, load_model
from rscovlm_train.collate import META_KEY, TrainingCollator, TrainingItem


def item(tokens: list[int], label_from: int, name: str) -> TrainingItem:
    from rscovlm_model import EncodedSample

    ids = torch.tensor(tokens)
    labels = ids.clone()
    labels[:label_from] = -100
    sample = EncodedSample(ids, labels, torch.zeros_like(ids), None, None)
    return TrainingItem(sample, name, f"data_{name}", f"task_{name}")


ITEMS = [
    item([5, 6, 7, 8, 9], 2, "a"),
    item([5, 6, 7], 1, "b"),
    item([11, 12, 13, 14], 4, "c"),
    item([5, 6, 7], 1, "d"),
]


def test_padded_rows_belong_to_their_samples():
    collator = TrainingCollator(PaddingCollator(pad_token_id=0))
    batch = collator(ITEMS)
    meta = batch[META_KEY]
    assert meta["ids"] == ["a", "b", "d"] and collator.dropped == {"data_c": 1}  # c has no supervised token
    assert meta["sample_index"].tolist() == [[0, 0, 0, 0, 0], [1, 1, 1, -1, -1], [2, 2, 2, -1, -1]]


def test_packed_segments_are_matched_to_their_samples(demo_dir):
    model = load_model(demo_dir / "model", dtype="float32", attn_implementation="sdpa")
    batch = TrainingCollator(PackingCollator(model, max_length=8, pad_token_id=0))(ITEMS)
    owners, ids = batch[META_KEY]["sample_index"], batch["input_ids"]
    samples = [ITEMS[0], ITEMS[1], ITEMS[3]]
    for owner, sample in enumerate(samples):
        assert ids[owners == owner].tolist() == sample.encoded.input_ids.tolist()
    assert int((owners >= 0).sum()) == sum(len(s.encoded) for s in samples)
