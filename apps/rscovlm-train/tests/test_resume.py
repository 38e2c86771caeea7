"""Exact resume: a run interrupted after some steps and restarted matches an uninterrupted run step for step."""

from __future__ import annotations

from pathlib import Path

import pytest
from rscovlm_train.checkpoints import STAGING_DIR
from rscovlm_train.run import train
from rscovlm_train.trainer import SAMPLE_TRACE_DIR
from transformers import TrainerCallback

pytestmark = pytest.mark.slow

STEPS = 6


class Crash(RuntimeError):
    pass


class CrashAtStep(TrainerCallback):
    """Raise at the end of step ``step`` (before it is logged or saved), like a killed job."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Crash(f"stopped at step {self.step}")


def config(make_config, demo_config_data, output: Path):
    return make_config(
        demo_config_data,
        output,
        optim={"max_steps": STEPS, "per_device_batch_size": 2},
        output={"save_steps": 3, "logging_steps": 1, "save_total_limit": None},
    )


def test_resumed_run_sees_the_same_samples_and_losses(make_config, logged, demo_config_data, tmp_path):
    train(config(make_config, demo_config_data, tmp_path / "full"))

    resumed = config(make_config, demo_config_data, tmp_path / "resumed")
    with pytest.raises(Crash):
        train(resumed, callbacks=[CrashAtStep(5)])
    output = tmp_path / "resumed"
    assert sorted(p.name for p in output.glob("checkpoint-*")) == ["checkpoint-3"]
    # a crash in the middle of saving leaves only a staging folder, which must not be resumed from
    partial = output / STAGING_DIR / "checkpoint-6"
    partial.mkdir(parents=True)
    (partial / "model.safetensors").write_bytes(b"\0" * 10)
    train(resumed)

    for key in ("loss", "loss_task/detection", "loss_task/captioning", "loss_dataset/ucmerced", "learning_rate"):
        full, again = logged(tmp_path / "full" / "checkpoint-6", key), logged(output / "checkpoint-6", key)
        assert full == again, key
    assert sorted(logged(output / "checkpoint-6", "loss")) == list(range(1, STEPS + 1))
    trace = [(tmp_path / name / SAMPLE_TRACE_DIR / "rank0.jsonl").read_text() for name in ("full", "resumed")]
    assert trace[0] == trace[1] and len(trace[0].splitlines()) == STEPS
