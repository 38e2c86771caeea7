"""The demo end to end: 30 steps of co-training on every task, checkpoints, the final model, the evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rscovlm_train.checkpoints import CONFIG_NAME, SAMPLER_STATE_NAME, STAGING_DIR
from rscovlm_train.config import load_config
from rscovlm_train.run import TrainResult, train
from rscovlm_train.trainer import SAMPLE_TRACE_DIR

pytestmark = pytest.mark.slow

TASKS = ("detection", "captioning", "uhr_vqa", "classification")
DATASETS = ("dota@poly", "dota@hbb", "hrsc2016", "sydney_captions", "lrs_vqa", "ucmerced")


@pytest.fixture(scope="module")
def demo_run(demo_dir: Path) -> TrainResult:
    """The demo's own run (what `rscovlm-train demo` does after preparing the data)."""
    return train(load_config(demo_dir / "demo.yaml"))


def test_loss_falls_and_is_logged_per_task_and_dataset(demo_run, logged):
    last = demo_run.final.parent / "checkpoint-30"
    losses = logged(last, "loss")
    assert sorted(losses) == [5, 10, 15, 20, 25, 30]
    assert losses[30] < losses[5] - 0.5
    for group in [*(f"task/{t}" for t in TASKS), *(f"dataset/{d}" for d in DATASETS)]:
        assert logged(last, f"loss_{group}"), f"loss_{group} never logged"
    for part in ("vision", "merger", "llm"):
        assert logged(last, f"lr_{part}") == logged(last, "learning_rate")  # one rate for all parts in the demo
    assert all(value > 0 for value in logged(last, "tokens_per_second").values())
    assert all(0 < value <= 1 for value in logged(last, "real_token_fraction").values())


def test_checkpoints_are_complete_rotated_and_carry_config_and_sampler(demo_run, demo_dir):
    output = demo_run.final.parent
    assert sorted(p.name for p in output.glob("checkpoint-*")) == ["checkpoint-20", "checkpoint-30"]
    assert not (output / STAGING_DIR).exists()
    for checkpoint in output.glob("checkpoint-*"):
        assert load_config(checkpoint / CONFIG_NAME) == load_config(demo_dir / "demo.yaml")
        state = json.loads((checkpoint / SAMPLER_STATE_NAME).read_text(encoding="utf-8"))
        assert state["seed"] == 0 and state["world_size"] == 1
    assert list((output / "tensorboard").glob("events.out.tfevents.*"))
    trace = (output / SAMPLE_TRACE_DIR / "rank0.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["step"] for line in trace] == list(range(1, 31))


def test_final_checkpoint_loads_and_generates(demo_run, assert_generates):
    assert_generates(demo_run.final)


def test_every_task_is_evaluated_on_held_out_samples(demo_run):
    assert demo_run.report is not None
    results = json.loads((demo_run.report / "results.json").read_text(encoding="utf-8"))
    text = json.dumps(results)
    for benchmark in ("ucmerced", "sydney-captions", "lrs-vqa", "dior-rsvg", "dior-r"):
        assert benchmark in text
    assert (demo_run.report / "results.md").is_file()
