"""The real model path: rscovlm_model loads the tiny checkpoint and generates for every benchmark family."""

import json

import pytest
from rscovlm_eval import run_evaluation

pytestmark = pytest.mark.slow


def test_tiny_model_runs_every_family(bench_root, tiny_model, tmp_path, all_benchmarks, make_config):
    benchmarks = [{**b, "limit": 1} for b in all_benchmarks]
    config = make_config(
        tiny_model,
        bench_root,
        tmp_path,
        benchmarks=benchmarks,
        generation={"batch_size": 4, "max_new_tokens": 8},
        resolution={"min_pixels": 3136, "max_pixels": 12544},
        device="cpu",
    )
    run_dir = run_evaluation(config)
    results = json.loads((run_dir / "results.json").read_text())
    assert len(results["benchmarks"]) == len(all_benchmarks)
    for key, result in results["benchmarks"].items():
        assert result["count"] == 1 and result["errors"]["count"] == 0, (key, result)
    zoom = results["benchmarks"]["lrs-vqa+zoom"]["zoom"]
    assert set(zoom) == {"zoom_rate", "mean_rounds", "status"} and sum(zoom["status"].values()) == 1
    predictions = [json.loads(line) for line in (run_dir / "aid" / "predictions.rank0-of-1.jsonl").open()]
    assert isinstance(predictions[0]["prediction"], str)
    assert (run_dir / "results.md").is_file()
