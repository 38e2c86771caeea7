"""Packing: bin-packing properties, and a packed batch's loss and gradients equal to the samples run one by one."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from rscovlm_model import (
    IGNORE_INDEX,
    PackedBatchSampler,
    PackingCollator,
    PaddingCollator,
    encode,
    estimate_length,
    pack_lengths,
)
from rscovlm_model.images import iter_image_parts


@given(st.lists(st.integers(1, 100), max_size=60), st.integers(100, 300))
def test_pack_lengths_places_every_sample_once_within_the_limit(lengths: list[int], max_length: int) -> None:
    bins = pack_lengths(lengths, max_length)
    assert sorted(i for group in bins for i in group) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in group) <= max_length for group in bins)
    # best-fit decreasing never leaves two bins that could be merged into one
    loads = sorted(sum(lengths[i] for i in group) for group in bins)
    assert len(loads) < 2 or loads[0] + loads[1] > max_length


def test_pack_lengths_rejects_a_sample_longer_than_the_limit() -> None:
    with pytest.raises(ValueError, match="sample 1 has 11 tokens, more than max_length 10"):
        pack_lengths([3, 11], 10)


LENGTHS = [5, 90, 40, 60, 10, 33, 70, 20, 100, 250] * 5  # 250 > max_length 100: counts as 100


def _order(epoch: int) -> list[int]:
    """A fixed order per epoch (a rotation), standing in for the mixture sampler's."""
    return [(i + 7 * epoch) % len(LENGTHS) for i in range(len(LENGTHS))]


def _lengths(epoch: int, keys: list[int]) -> list[int]:
    return [LENGTHS[k] for k in keys]


def _sampler(**options) -> PackedBatchSampler:
    return PackedBatchSampler(_order, _lengths, max_length=100, window=16, **options)


def test_packed_batch_sampler_covers_each_sample_once_within_the_limit_in_order() -> None:
    packs = _sampler().epoch_packs(0)
    assert sorted(k for pack in packs for k in pack) == list(range(len(LENGTHS)))
    assert all(sum(min(LENGTHS[k], 100) for k in pack) <= 100 for pack in packs)
    # packs follow the order window by window: every key of window w comes before every key of window w + 1
    windows = [min(_order(0).index(k) // 16 for k in pack) for pack in packs]
    assert windows == sorted(windows)
    assert _sampler().epoch_packs(1) != packs


def test_packed_batch_sampler_shards_ranks_evenly_and_batches_packs() -> None:
    packs = _sampler().epoch_packs(0)
    shards = [list(_sampler(rank=r, world_size=3, packs_per_batch=2)) for r in range(3)]
    assert len({len(shard) for shard in shards}) == 1  # every rank runs the same number of steps
    seen = [key for shard in shards for batch in shard for _, key, _ in batch]
    repeated = math.ceil(len(packs) / 3) * 3 - len(packs)  # the first packs fill the last round
    assert sorted(seen) == sorted([k for p in packs for k in p] + [k for p in packs[:repeated] for k in p])
    batch = shards[1][0]  # rank 1 takes packs 1 and 4, numbered 0 and 1 within its batch
    assert [(key, number) for _, key, number in batch] == [(k, 0) for k in packs[1]] + [(k, 1) for k in packs[4]]
    assert {epoch for epoch, _, _ in batch} == {0}


def test_packed_batch_sampler_state_names_what_decides_the_packs() -> None:
    sampler = _sampler()
    sampler.set_epoch(3)
    other = _sampler(world_size=2)
    other.load_state_dict(sampler.state_dict())  # another world size: the packs of the epoch are the same
    assert other.epoch == 3 and other.epoch_packs(3) == sampler.epoch_packs(3)
    with pytest.raises(ValueError, match="saved max_length=100, this sampler has 90"):
        PackedBatchSampler(_order, _lengths, max_length=90).load_state_dict(sampler.state_dict())


def _samples(tiny) -> list:
    return [encode(messages, tiny.processor) for messages in tiny.conversations().values()]


def _reference(model, samples) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Token-weighted mean loss and its gradients, every sample in its own forward pass."""
    model.zero_grad()
    counts = [int((s.labels[1:] != IGNORE_INDEX).sum()) for s in samples]
    total = torch.zeros(())
    for sample, count in zip(samples, counts, strict=True):
        vision = {}
        if sample.image_grid_thw is not None:
            vision = {"pixel_values": sample.pixel_values, "image_grid_thw": sample.image_grid_thw}
        out = model(
            input_ids=sample.input_ids[None],
            labels=sample.labels[None],
            mm_token_type_ids=sample.mm_token_type_ids[None],
            use_cache=False,
            **vision,
        )
        loss = out.loss * count / sum(counts)
        loss.backward()
        total = total + loss.detach()
    return total, _grads(model)


def _grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _batch_loss(model, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    return loss.detach(), _grads(model)


def _assert_same(loss, grads, ref_loss, ref_grads) -> None:
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    assert grads.keys() == ref_grads.keys()
    assert any(name.startswith("model.visual.") for name in grads)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, ref_grads[name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize(("layout", "rows"), [("one_bin", 1), ("two_bins", 2), ("bins_in_one_row", 1)])
def test_packed_loss_and_gradients_equal_one_by_one(tiny, layout: str, rows: int) -> None:
    samples = _samples(tiny)
    ref_loss, ref_grads = _reference(tiny.model, samples)
    longest = max(len(s) for s in samples)
    total = sum(len(s) for s in samples)
    # the zoom chain is the longest sample, so with max_length = its length it fills a bin alone;
    # "bins_in_one_row" is the flash-attention layout: every bin concatenated into a single row
    max_length = total if layout == "one_bin" else longest
    collator = PackingCollator(
        tiny.model,
        max_length=max_length,
        pad_token_id=tiny.processor.tokenizer.pad_token_id,
        single_row=layout == "bins_in_one_row",
    )
    batch = collator(samples)
    assert batch["input_ids"].shape[0] == rows
    assert len(pack_lengths([len(s) for s in samples], max_length)) == (1 if layout == "one_bin" else 2)
    assert batch["position_ids"].shape == (4, rows, batch["input_ids"].shape[1])
    _assert_same(*_batch_loss(tiny.model, batch), ref_loss, ref_grads)


def test_naive_packing_without_per_sample_positions_is_wrong(tiny) -> None:
    """The check above can fail: positions running on across samples (the known silent bug) change the loss
    and the gradients."""
    samples = _samples(tiny)
    ref_loss, ref_grads = _reference(tiny.model, samples)
    batch = PackingCollator(tiny.model, max_length=10_000, pad_token_id=0)(samples)
    batch["position_ids"] = torch.arange(batch["input_ids"].shape[1]).expand(4, 1, -1)
    naive_loss, naive_grads = _batch_loss(tiny.model, batch)
    with pytest.raises(AssertionError):
        _assert_same(naive_loss, naive_grads, ref_loss, ref_grads)


def test_padded_loss_and_gradients_equal_one_by_one(tiny) -> None:
    samples = _samples(tiny)
    ref_loss, ref_grads = _reference(tiny.model, samples)
    collator = PaddingCollator(pad_token_id=tiny.processor.tokenizer.pad_token_id)
    _assert_same(*_batch_loss(tiny.model, collator(samples)), ref_loss, ref_grads)


def test_collators_report_real_tokens_and_skip_unsupervised_samples(tiny) -> None:
    samples = _samples(tiny)
    pad_id = tiny.processor.tokenizer.pad_token_id
    padding = PaddingCollator(pad_id)
    padded = padding(samples)
    real = sum(len(s) for s in samples)
    assert padding.stats.real_tokens == real == int(padded["attention_mask"].sum())
    assert padding.stats.real_token_fraction == real / padded["input_ids"].numel() < 1.0
    packing = PackingCollator(tiny.model, max_length=real, pad_token_id=pad_id)
    packing(samples)
    assert packing.stats.real_token_fraction == 1.0
    prompt_only = encode(tiny.conversations()["caption"][:1], tiny.processor)
    padding([*samples, prompt_only])
    assert padding.stats.skipped_no_labels == 1
    with pytest.raises(ValueError, match="none of the 1 samples in this batch has a supervised token left"):
        packing([prompt_only])


def test_length_estimates_equal_the_encoded_lengths(tiny) -> None:
    """The estimate reads no pixel; with images of the sizes the parts name it is exact, text-only and with images."""
    conversations = tiny.conversations()
    assert any(iter_image_parts(m) for m in conversations.values())
    for name, messages in conversations.items():
        assert estimate_length(messages, tiny.processor) == len(encode(messages, tiny.processor)), name


def test_a_pack_longer_than_estimated_is_split_not_truncated(tiny) -> None:
    samples = _samples(tiny)
    collator = PackingCollator(tiny.model, max_length=max(len(s) for s in samples), pad_token_id=0)
    collated = collator.collate(samples, packs=[0] * len(samples))  # one pack that does not fit one row
    assert collated.rows == 2 and collator.stats.split_packs == 1
    owners, ids = collated.segment_ids, collated.batch["input_ids"]
    for index, sample in enumerate(samples):  # every token of every sample is there, owned by its sample
        assert ids[owners == index].tolist() == sample.input_ids.tolist()
    assert int((owners >= 0).sum()) == sum(len(s) for s in samples)


def test_packing_uses_one_row_under_flash_attention() -> None:
    """flash-attention's varlen path only reads packed positions from a batch of one row."""

    class Inner:
        config = type("Config", (), {"_attn_implementation": "flash_attention_2"})()

    class Model:
        model = Inner()

    assert PackingCollator(Model(), max_length=8, pad_token_id=0).single_row is True
    Inner.config._attn_implementation = "sdpa"
    assert PackingCollator(Model(), max_length=8, pad_token_id=0).single_row is False
