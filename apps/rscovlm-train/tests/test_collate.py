"""Every token of a padded or packed batch is owned by the right sample (what per-task losses rest on)."""

from __future__ import annotations

import torch
from rs_data import read_records
from rs_data.dataset import MixtureDataset
from rs_data.render import RenderConfig
from rs_detect_eval import normalize_class
from rs_resolution import ResolutionPolicy
from rscovlm_model import PackingCollator, PaddingCollator, load_model, load_processor
from rscovlm_train.collate import META_KEY, TrainingCollator, TrainingItem
from rscovlm_train.data import EncodedMixture


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
    assert meta["ids"] == ["a", "b", "d"]
    assert meta["dropped"] == [("c", "no supervised token left after truncation to max_length")]
    assert meta["sample_index"].tolist() == [[0, 0, 0, 0, 0], [1, 1, 1, -1, -1], [2, 2, 2, -1, -1]]


def test_packed_segments_are_matched_to_their_samples(demo_dir):
    model = load_model(demo_dir / "model", dtype="float32", attn_implementation="sdpa")
    batch = TrainingCollator(PackingCollator(model, max_length=8, pad_token_id=0))(ITEMS)
    owners, ids = batch[META_KEY]["sample_index"], batch["input_ids"]
    samples = [ITEMS[0], ITEMS[1], ITEMS[3]]
    for owner, sample in enumerate(samples):
        assert ids[owners == owner].tolist() == sample.encoded.input_ids.tolist()
    assert int((owners >= 0).sum()) == sum(len(s.encoded) for s in samples)


def test_an_unreadable_image_is_skipped_with_its_reason(tmp_path, demo_dir):
    records = list(read_records(demo_dir / "records" / "train" / "ucmerced.jsonl"))[:2]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    records[1].images[0].path = str(broken)
    mixture = MixtureDataset([records], ResolutionPolicy(max_pixels=50176), RenderConfig(), seed=0)
    dataset = EncodedMixture(mixture, ["ucmerced"], load_processor(demo_dir / "model"), max_length=None)
    good, bad = dataset[(0, 0)], dataset[(0, 1)]
    assert bad.encoded is None and str(broken) in bad.problem
    batch = TrainingCollator(PaddingCollator(pad_token_id=0))([good, bad])
    assert batch[META_KEY]["ids"] == [good.record_id]
    assert batch[META_KEY]["dropped"] == [(bad.record_id, bad.problem)]


def test_a_target_box_leaving_its_image_travels_with_the_batch_as_clipped(demo_dir):
    records = list(read_records(demo_dir / "records" / "train" / "dota.jsonl"))
    record = records[0]
    width = record.images[0].width
    first = record.annotation.objects[0]
    xs, ys = first.polygon[::2], first.polygon[1::2]
    shift = width - min(xs) - 5  # the object now starts 5 px before the right edge and leaves the image
    first.polygon = [v for x, y in zip(xs, ys, strict=True) for v in (x + shift, y)]
    mixture = MixtureDataset([[record]], ResolutionPolicy(max_pixels=50176), RenderConfig(), seed=0)
    dataset = EncodedMixture(mixture, ["dota"], load_processor(demo_dir / "model"), max_length=None)
    trained = dataset[(0, 0)]
    label = normalize_class(first.label)
    assert len(trained.clipped) == 1 and trained.clipped[0].startswith(f"object 0 ({label!r}): leaves the image")
    batch = TrainingCollator(PaddingCollator(pad_token_id=0))([trained])
    assert batch[META_KEY]["clipped"] == [(record.id, trained.clipped[0])]


def test_a_batch_without_usable_samples_becomes_an_unsupervised_placeholder():
    from rscovlm_model import EncodedSample
    from rscovlm_train.losses import chunked_token_losses

    ids = torch.tensor([3, 4, 5, 6])
    placeholder = EncodedSample(ids, torch.full_like(ids, -100), torch.zeros_like(ids), None, None)
    unreadable = TrainingItem(None, "x", "data_x", "task_x", "x.png: no such file")
    batch = TrainingCollator(PaddingCollator(pad_token_id=0), placeholder)([unreadable, ITEMS[2]])
    meta = batch[META_KEY]
    assert meta["ids"] == [] and [record for record, _ in meta["dropped"]] == ["x", "c"]
    assert batch["input_ids"].tolist() == [[3, 4, 5, 6]] and (batch["labels"] == -100).all()
    assert (meta["sample_index"] == -1).all()
    # its loss is zero yet has a backward pass (every rank runs one, so none waits on another)
    hidden = torch.randn(1, 4, 8, requires_grad=True)
    weight = torch.randn(10, 8, requires_grad=True)
    losses, scored = chunked_token_losses(hidden, weight, batch["labels"])
    assert not scored.any() and float(losses.abs().sum()) == 0.0
    losses.sum().backward()
    assert float(hidden.grad.abs().sum()) == 0.0 and weight.grad is not None
