"""Packing: bin-packing properties, and a packed batch's loss and gradients equal to the samples run one by one."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from rscovlm_model import IGNORE_INDEX, PackedBatchSampler, PackingCollator, PaddingCollator, encode, pack_lengths


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


def test_packed_batch_sampler_covers_each_sample_once_per_epoch() -> None:
    lengths = [5, 90, 40, 60, 10, 33, 70, 20] * 5
    sampler = PackedBatchSampler(lengths, max_length=100, seed=3)
    first = list(sampler)
    assert sorted(i for group in first for i in group) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in group) <= 100 for group in first)
    sampler.set_epoch(1)
    assert list(sampler) != first
    halves = [list(PackedBatchSampler(lengths, 100, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    assert len(halves[0]) == len(halves[1]) and not {tuple(g) for g in halves[0]} & {tuple(g) for g in halves[1]}


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


def test_packing_uses_one_row_under_flash_attention() -> None:
    """flash-attention's varlen path only reads packed positions from a batch of one row."""

    class Inner:
        config = type("Config", (), {"_attn_implementation": "flash_attention_2"})()

    class Model:
        model = Inner()

    assert PackingCollator(Model(), max_length=8, pad_token_id=0).single_row is True
    Inner.config._attn_implementation = "sdpa"
    assert PackingCollator(Model(), max_length=8, pad_token_id=0).single_row is False


def test_packing_benchmark_runs(monkeypatch, capsys) -> None:
    script = Path(__file__).parents[3] / "benchmarks" / "rscovlm_model_packing.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--samples", "400", "--window", "100"])
    runpy.run_path(str(script), run_name="__main__")
    ratio = capsys.readouterr().out.rsplit("ratio packing / padding: ", 1)[1]
    assert float(ratio.rstrip("x\n")) > 1.5
