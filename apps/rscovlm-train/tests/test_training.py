"""The demo end to end: 180 steps of co-training on every task, checkpoints, the final model, the evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rscovlm_eval.testing import VISIBLE, check_report_page, needs_chromium
from rscovlm_model.settings import load_settings
from rscovlm_train.checkpoints import CONFIG_NAME, SAMPLER_STATE_NAME, STAGING_DIR
from rscovlm_train.config import load_config
from rscovlm_train.run import TrainResult, train
from rscovlm_train.trainer import SAMPLE_TRACE_DIR

pytestmark = pytest.mark.slow

TASKS = ("detection", "captioning", "uhr_vqa", "classification")
DATASETS = ("dota@poly", "hrsc2016", "sydney_captions", "lrs_vqa_zoom", "ucmerced")


@pytest.fixture(scope="module")
def demo_run(demo_dir: Path) -> TrainResult:
    """The demo's own run (what `rscovlm-train demo` does after preparing the data)."""
    return train(load_config(demo_dir / "demo.yaml"))


def test_loss_falls_and_is_logged_per_task_and_dataset(demo_run, logged):
    last = demo_run.final.parent / "checkpoint-180"
    losses = logged(last, "loss")
    assert sorted(losses) == list(range(20, 181, 20))
    assert losses[180] < losses[20] - 0.5
    for group in [*(f"task/{t}" for t in TASKS), *(f"dataset/{d}" for d in DATASETS)]:
        assert logged(last, f"loss_{group}"), f"loss_{group} never logged"
    for part in ("vision", "merger", "llm"):
        assert logged(last, f"lr_{part}") == logged(last, "learning_rate")  # one rate for all parts in the demo
    assert all(value > 0 for value in logged(last, "tokens_per_second").values())
    assert all(0 < value <= 1 for value in logged(last, "real_token_fraction").values())


def test_clipped_target_boxes_are_counted_each_time_they_are_trained(demo_run, demo_dir, logged, step_ids):
    """The demo's HRSC2016 ship has a corner below its image (y 832.8 in an image 816 high, in the annotation file):
    each time that sample is trained, one box is clipped, and the logged count says so."""
    from rs_data import read_records

    (ship,) = read_records(demo_dir / "records" / "train" / "hrsc2016.jsonl")
    image, polygon = ship.images[0], ship.annotation.objects[0].polygon
    assert len(ship.annotation.objects) == 1 and max(polygon[1::2]) > image.height
    steps = step_ids(demo_run.final.parent)
    counted = logged(demo_run.final.parent / "checkpoint-180", "clipped_boxes")
    assert counted, "clipped_boxes never logged"
    for step, value in counted.items():
        assert value == sum(steps[s][ship.id] for s in steps if s <= step), step
    assert counted[180] > 0


def test_checkpoints_are_complete_rotated_and_carry_config_and_sampler(demo_run, demo_dir):
    output = demo_run.final.parent
    assert sorted(p.name for p in output.glob("checkpoint-*")) == ["checkpoint-100", "checkpoint-180"]
    assert not (output / STAGING_DIR).exists()
    for checkpoint in output.glob("checkpoint-*"):
        assert load_config(checkpoint / CONFIG_NAME) == load_config(demo_dir / "demo.yaml")
        state = json.loads((checkpoint / SAMPLER_STATE_NAME).read_text(encoding="utf-8"))
        assert state["seed"] == 0 and state["world_size"] == 1
    assert list((output / "tensorboard").glob("events.out.tfevents.*"))
    trace = (output / SAMPLE_TRACE_DIR / "rank0.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["step"] for line in trace] == list(range(1, 181))


def test_every_checkpoint_carries_the_settings_evaluation_reads(demo_run, demo_dir):
    config = load_config(demo_dir / "demo.yaml")
    for folder in [demo_run.final, *demo_run.final.parent.glob("checkpoint-*")]:
        saved = load_settings(folder)
        assert saved is not None and saved.resolution == config.data.resolution and saved.render == config.data.render
    run = json.loads((demo_run.report / "run.json").read_text(encoding="utf-8"))
    assert run["spec"]["sources"]["resolution"] == "checkpoint" and run["spec"]["overrides"] == []
    assert run["spec"]["policy"]["max_pixels"] == config.data.resolution.max_pixels


def test_the_report_separates_trained_and_held_out_samples_and_plots_the_loss(demo_run):
    results = json.loads((demo_run.report / "results.json").read_text(encoding="utf-8"))
    groups = {r["group"] for r in results["benchmarks"].values()}
    assert groups == {"Samples the model trained on", "Held-out samples"}
    text = (demo_run.report / "results.md").read_text(encoding="utf-8")
    assert text.index("## Samples the model trained on") < text.index("## Held-out samples")
    assert "plots/training_loss.png" in results["plots"] and (demo_run.report / "plots/training_loss.png").is_file()


@needs_chromium
def test_the_demo_report_opens_in_chromium_with_every_benchmark(demo_run, demo_dir, chromium, tmp_path_factory):
    """The demo's report.html, as a person opens it from disk: every table number is results.json's, every
    benchmark has its gallery with all its samples, and the filters narrow what is shown."""
    benchmarks, sizes = check_report_page(chromium, demo_run.report)
    assert set(benchmarks) == {b.key for b in load_config(demo_dir / "demo.yaml").evaluation.benchmarks}
    chromium.choose("task", "classification")
    shown = {key: n for key, n in chromium.evaluate(VISIBLE) if n}
    assert shown == {k: sizes[k] for k, r in benchmarks.items() if r["metric"] == "classification"}
    chromium.choose("task", "")
    chromium.evaluate("document.getElementById('gallery').scrollIntoView()")
    shot = chromium.screenshot(tmp_path_factory.getbasetemp() / "demo_report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_final_checkpoint_loads_and_generates(demo_run, assert_generates):
    assert_generates(demo_run.final)


def test_every_task_is_evaluated_on_held_out_samples(demo_run):
    assert demo_run.report is not None
    results = json.loads((demo_run.report / "results.json").read_text(encoding="utf-8"))
    text = json.dumps(results)
    for benchmark in ("ucmerced", "sydney-captions", "lrs-vqa", "dior-rsvg", "dior-r"):
        assert benchmark in text
    assert (demo_run.report / "results.md").is_file()


def test_lrs_vqa_is_evaluated_without_and_with_the_zoom_in_chain(demo_run):
    results = json.loads((demo_run.report / "results.json").read_text(encoding="utf-8"))["benchmarks"]
    plain, zoomed = results["lrs-vqa"], results["lrs-vqa+zoom"]
    assert "zoom" not in plain and plain["count"] == zoomed["count"] == 10
    assert 0 <= zoomed["zoom"]["zoom_rate"] <= 1 and zoomed["zoom"]["mean_rounds"] <= 2  # zoom.max_rounds
    predictions = (demo_run.report / "lrs-vqa+zoom").glob("predictions.*.jsonl")
    entries = [json.loads(line) for path in predictions for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == zoomed["count"]
    chains = [e for e in entries if e.get("zoom") is not None]  # counting questions skip the chain (upstream's rule)
    unzoomed = [e for e in entries if e.get("zoom") is None]
    assert chains and all(e["target"]["question_type"] == "count" for e in unzoomed)
    assert sum(zoomed["zoom"]["status"].values()) == len(chains)
    for entry in chains:  # every chain's trajectory: the model's own replies, its last one the answer
        trajectory = entry["zoom"]["trajectory"]
        assert len(trajectory) > entry["zoom"]["rounds"] and entry["prediction"] == trajectory[-1]["text"].strip()
    table = (demo_run.report / "results.md").read_text(encoding="utf-8")
    assert "| lrs-vqa+zoom |" in table and "Zoom rate" in table
