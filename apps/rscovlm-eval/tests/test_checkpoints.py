"""Several checkpoints in one command: one run folder each and a summary table across them."""

import json

import pytest
from rscovlm_eval.checkpoints import evaluate_checkpoints, expand_checkpoints
from rscovlm_eval.config import ConfigError


def _training_folder(root, steps):
    for step in steps:
        folder = root / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    (root / "runs").mkdir()  # not a checkpoint: ignored
    return root


def test_every_checkpoint_of_a_training_folder_gets_a_run_and_a_summary_row(bench_root, tmp_path):
    training = _training_folder(tmp_path / "train", [10, 2, 1])
    assert [p.name for p in expand_checkpoints([training])] == ["checkpoint-1", "checkpoint-2", "checkpoint-10"]
    source = {
        "data_root": str(bench_root),
        "output_dir": str(tmp_path / "eval"),
        "benchmarks": [{"name": "aid", "data": "scenes"}],
        "progress": False,
        "plots": False,
    }
    summary = evaluate_checkpoints(source, [training], generate=lambda c: ["parking lot" for _ in c])
    assert summary == tmp_path / "eval" / "summary.md"
    rows = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert [r["name"] for r in rows] == ["checkpoint-1", "checkpoint-2", "checkpoint-10"]
    for row in rows:
        assert (tmp_path / "eval" / row["name"] / "results.json").is_file()
        # "parking lot" for 2 parking lots and 2 golf courses: 2 of 4 right
        assert row["benchmarks"]["aid"] == {"metric": "classification", "value": 0.5, "incomplete": False}
    table = summary.read_text()
    assert "| Checkpoint | aid (accuracy) |" in table and "| checkpoint-10 | 50.00 |" in table


def test_a_folder_without_checkpoints_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="neither a checkpoint"):
        expand_checkpoints([tmp_path])
