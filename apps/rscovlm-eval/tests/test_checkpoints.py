"""Several checkpoints in one command: one run folder each and a summary table across them."""

import json
import os

import pytest
from rscovlm_eval.backends import weights_digest
from rscovlm_eval.checkpoints import _headlines, evaluate_checkpoints, expand_checkpoints, summary_markdown
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


def test_a_checkpoint_saved_again_to_its_path_does_not_reuse_the_cache(bench_root, tmp_path):
    from rscovlm_model import build_tiny_checkpoint

    checkpoint = build_tiny_checkpoint(tmp_path / "checkpoint-5", "qwen2_5_vl", seed=0)
    source = {
        "data_root": str(bench_root),
        "output_dir": str(tmp_path / "eval"),
        "benchmarks": [{"name": "aid", "data": "scenes", "limit": 1}],
        "generation": {"max_new_tokens": 2},
        "device": "cpu",
        "progress": False,
        "plots": False,
    }
    evaluate_checkpoints(source, [checkpoint])
    build_tiny_checkpoint(checkpoint, "qwen2_5_vl", seed=1)  # trained on, saved to the same folder
    with pytest.raises(ConfigError, match=r"another backend \(backend.weights: '[0-9a-f]{32}' -> '[0-9a-f]{32}'"):
        evaluate_checkpoints(source, [checkpoint])

    build_tiny_checkpoint(checkpoint, "qwen2_5_vl", seed=0)  # the first weights again, written later
    evaluate_checkpoints(source, [checkpoint])
    run_dir = tmp_path / "eval" / "checkpoint-5"
    assert len((run_dir / "aid" / "predictions.rank0-of-1.jsonl").read_text().splitlines()) == 1  # reused
    assert json.loads((run_dir / "run.json").read_text())["backend"]["weights"] == weights_digest(checkpoint)


def test_the_weights_digest_reads_windows_of_large_files_by_content(tmp_path):
    weights = tmp_path / "model.safetensors"
    data = bytearray(os.urandom(20 << 20))
    weights.write_bytes(data)
    first = weights_digest(tmp_path)
    os.utime(weights, (0, 0))
    assert weights_digest(tmp_path) == first
    data[((20 << 20) - (1 << 20)) * 3 // 7 + 5] ^= 1  # inside the fourth window
    weights.write_bytes(data)
    assert weights_digest(tmp_path) != first
    assert weights_digest(tmp_path / "missing") is None and weights_digest(tmp_path / "model.safetensors") is None


def test_the_summary_names_each_familys_headline_and_leaves_out_suite_scored_ones():
    results = {
        "benchmarks": {
            "vhm-eval": {"metric": "vhm", "count": 3, "per_suite": {}},
            "xlrs-bench": {"metric": "xlrs", "accuracy": 0.25, "count": 4},
            "geochat-grounding": {"metric": "geochat_grounding", "accuracy": 0.5, "count": 2},
        }
    }
    rows = [{"name": "checkpoint-10", "benchmarks": _headlines(results)}]
    table = summary_markdown(rows)
    assert "| Checkpoint | xlrs-bench (accuracy) | geochat-grounding (accuracy) |" in table
    assert "| checkpoint-10 | 25.00 | 50.00 |" in table and "vhm" not in table
