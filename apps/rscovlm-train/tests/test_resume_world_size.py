"""Resuming on another number of processes (DeepSpeed ZeRO-2, packing, the same global batch): trained on two
processes and resumed on one, and the reverse, a run continues with the samples and losses of an uninterrupted one.

The checkpoint is converted to DeepSpeed's universal checkpoint on the way: the optimiser state carries over, which
the loss of step 4 shows (it depends on the Adam moments of steps 1 and 2 through the update of step 3).
"""

from __future__ import annotations

import shutil

import pytest
from rscovlm_train.trainer import SAMPLE_TRACE_DIR
from rscovlm_train.universal import LATEST_UNIVERSAL

pytestmark = pytest.mark.slow

STEPS = 4  # a checkpoint at step 2 is resumed


def _assert_continues(run, reference, logged, step_ids) -> None:
    last = f"checkpoint-{STEPS}"
    assert (run / "checkpoint-2" / "global_step2_universal").is_dir()
    assert (run / "checkpoint-2" / LATEST_UNIVERSAL).read_text() == "global_step2_universal"
    assert sorted(logged(run / last, "loss")) == list(range(1, STEPS + 1))
    for key in ("loss", "learning_rate", "loss_task/detection", "loss_task/captioning"):
        assert logged(run / last, key) == pytest.approx(logged(reference / last, key), rel=1e-4), key
    assert step_ids(run) == step_ids(reference)  # the same packs in every step, each once


def test_resume_on_another_world_size_continues_the_run(tmp_path, packed_config, logged, launch, step_ids):
    reference = tmp_path / "reference"  # one process, uninterrupted
    launch(packed_config(reference, 2, "zero2", STEPS), 1)

    two_then_one = tmp_path / "two_then_one"
    launch(packed_config(two_then_one, 1, "zero2", 2), 2)
    launch(packed_config(two_then_one, 2, "zero2", STEPS), 1)
    _assert_continues(two_then_one, reference, logged, step_ids)

    one_then_two = tmp_path / "one_then_two"  # the reference's checkpoint after step 2, resumed on two processes
    one_then_two.mkdir()
    for name in ("checkpoint-2", SAMPLE_TRACE_DIR, "length_cache"):
        shutil.copytree(reference / name, one_then_two / name)
    launch(packed_config(one_then_two, 1, "zero2", STEPS), 2)
    _assert_continues(one_then_two, reference, logged, step_ids)


def test_another_global_batch_is_refused_with_the_reason(tmp_path, packed_config, launch):
    output = tmp_path / "run"
    launch(packed_config(output, 1, "zero2", 2), 2)  # 2 packs per optimiser step
    stderr = launch(packed_config(output, 1, "zero2", STEPS), 1, check=False)  # 1 pack per optimiser step
    assert "output.dir: cannot resume from the newest checkpoint: cannot resume" in stderr, stderr[-3000:]
    assert "2 packs per optimiser step, this run takes 1" in stderr
    assert not (output / "checkpoint-2" / "global_step2_universal").exists()  # refused before converting
