"""Two processes (torchrun, gloo on the CPU) under DeepSpeed ZeRO-2 and ZeRO-3 with token-budget packing: the losses
of each step equal one process's with the same global batch, and the ranks' shards cover each pack of a step once.

Under ZeRO-3 the mixture also holds text-only samples, long ones that fill a pack alone and short ones packed with
image samples, so that in some step one rank's batch has no image while the other's has (a rank that skipped the
vision tower there would leave the others waiting in its parameter gathers): a hang fails the test at the timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rscovlm_train.trainer import SAMPLE_TRACE_DIR

pytestmark = pytest.mark.slow

STEPS = 3


def _assert_same_steps(two: Path, one: Path, logged, step_ids) -> None:
    last = f"checkpoint-{STEPS}"
    expected, got = logged(one / last, "loss"), logged(two / last, "loss")
    assert sorted(got) == list(range(1, STEPS + 1))
    assert got == pytest.approx(expected, rel=1e-4)
    assert step_ids(two) == step_ids(one)  # the same packs in every step, each once
    assert len(list((two / SAMPLE_TRACE_DIR).glob("rank*.jsonl"))) == 2


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, packed_config, logged, launch, step_ids):
    two, one = tmp_path / "two", tmp_path / "one"
    launch(packed_config(two, 1, "zero2", STEPS), 2)
    launch(packed_config(one, 2, "zero2", STEPS), 1)
    _assert_same_steps(two, one, logged, step_ids)


def test_zero3_text_only_and_image_batches_train_in_step(
    tmp_path, packed_config, logged, text_only_records, launch, rank_batches, step_ids
):
    # even answers fill a 1024-token pack alone, odd ones are packed with image samples
    answers = [" ".join(["The scene shows fields and roads."] * (6 if i % 2 else 160)) for i in range(8)]
    records = text_only_records(tmp_path, answers)
    text_ids = {json.loads(line)["id"] for line in records.read_text(encoding="utf-8").splitlines()}
    extra = [{"name": "chat", "path": str(records)}]
    two, one = tmp_path / "two", tmp_path / "one"
    launch(packed_config(two, 1, "zero3", STEPS, extra), 2, 600)
    launch(packed_config(one, 2, "zero3", STEPS, extra), 1, 600)
    _assert_same_steps(two, one, logged, step_ids)

    ranks = rank_batches(two)
    text_only = {rank: {step: set(ids) <= text_ids for step, ids in steps.items()} for rank, steps in ranks.items()}
    assert any(text_only[0][step] != text_only[1][step] for step in text_only[0]), "no step with one text-only rank"
    mixed = [ids for steps in ranks.values() for ids in steps.values() if 0 < len(set(ids) & text_ids) < len(ids)]
    assert mixed, "no batch with both text-only and image samples"
