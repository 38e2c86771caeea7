"""An interrupted run resumes without recomputing, losing or duplicating a prediction; shards merge."""

import json
import subprocess
import sys

import pytest
import yaml
from rscovlm_eval import run_evaluation
from rscovlm_eval.cache import PredictionCache, merge_shards, shard_path
from rscovlm_eval.config import ConfigError
from rscovlm_eval.report import IncompleteRunError, write_report

NAMES = ("aid", "rsvqa-lr", "vrsbench-vqa", "dior-rsvg", "lrs-vqa", "mme-realworld-rs")


@pytest.fixture(scope="module")
def subset(all_benchmarks):
    return [b for b in all_benchmarks if b["name"] in NAMES and not b.get("zoom")]


def _lines(run_dir):
    return [json.loads(line) for path in sorted(run_dir.glob("*/predictions.*.jsonl")) for line in path.open()]


def test_interrupted_run_resumes_with_identical_results(
    bench_root, qwen25_folder, tmp_path, subset, make_config, oracle_class
):
    reference_config = make_config(qwen25_folder, bench_root, tmp_path / "whole", benchmarks=subset, plots=False)
    reference = json.loads(
        (run_evaluation(reference_config, generate=oracle_class(reference_config)) / "results.json").read_text()
    )
    total = sum(b["count"] for b in reference["benchmarks"].values())

    config = make_config(
        qwen25_folder, bench_root, tmp_path / "resumed", benchmarks=subset, plots=False, generation={"batch_size": 2}
    )
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(config, generate=oracle_class(config, fail_after=5))
    assert 0 < len(_lines(config.run_dir)) < total
    assert not (config.run_dir / "results.json").exists()
    done_before = len(_lines(config.run_dir))
    # a kill in the middle of a write leaves a torn last line: it is cut off and that sample recomputed
    torn = next(config.run_dir.glob("*/predictions.*.jsonl"))
    with torn.open("a") as handle:
        handle.write('{"id": "torn", "predic')
    second = oracle_class(config)
    run_dir = run_evaluation(config, generate=second)
    assert second.calls == total - done_before  # nothing recomputed
    lines = _lines(run_dir)
    ids = [(e["dataset"], e["id"]) for e in lines]
    assert len(lines) == total and len(set(ids)) == total  # nothing lost, nothing duplicated
    resumed = json.loads((run_dir / "results.json").read_text())
    assert resumed["benchmarks"] == reference["benchmarks"]
    third = oracle_class(config)
    run_evaluation(config, generate=third)
    assert third.calls == 0


def test_shards_merge_into_the_same_report(bench_root, qwen25_folder, tmp_path, subset, make_config, oracle_class):
    single = make_config(qwen25_folder, bench_root, tmp_path / "single", benchmarks=subset, plots=False)
    expected = json.loads((run_evaluation(single, generate=oracle_class(single)) / "results.json").read_text())
    out = tmp_path / "sharded"
    rank0 = make_config(qwen25_folder, bench_root, out, benchmarks=subset, plots=False, rank=0, world_size=2)
    run_dir = run_evaluation(rank0, generate=oracle_class(rank0))
    assert not (run_dir / "results.json").exists()
    with pytest.raises(IncompleteRunError, match="no prediction yet"):
        write_report(run_dir, plots=False)
    rank1 = make_config(qwen25_folder, bench_root, out, benchmarks=subset, plots=False, rank=1, world_size=2)
    run_evaluation(rank1, generate=oracle_class(rank1))
    merged = json.loads((run_dir / "results.json").read_text())
    assert merged["benchmarks"] == expected["benchmarks"]
    assert len(list(run_dir.glob("aid/predictions.rank*-of-2.jsonl"))) == 2
    # rerun on one process: everything is already predicted by the two shards
    whole = make_config(qwen25_folder, bench_root, out, benchmarks=subset, plots=False)
    again = oracle_class(whole)
    run_evaluation(whole, generate=again)
    assert again.calls == 0


def _constant(conversations):
    return ["parking lot" for _ in conversations]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"prompt": {"box_type": "obb"}}, "prompt.box_type"),
        ({"prompt": {"style": "json"}}, "prompt.style"),
        ({"resolution": {"min_pixels": 3136, "max_pixels": 100352}}, "resolution.max_pixels"),
        (
            {
                "resolution": {
                    "min_pixels": 3136,
                    "max_pixels": 200704,
                    "tasks": {"classification": {"min_pixels": 3136, "max_pixels": 50176}},
                }
            },
            "policy",
        ),
        (
            {
                "resolution": {
                    "min_pixels": 3136,
                    "max_pixels": 200704,
                    "datasets": {"scenes": {"min_pixels": 3136, "max_pixels": 50176}},
                }
            },
            "policy",
        ),
        ({"dtype": "float32"}, "dtype"),
        ({"seed": 1}, "seed"),
        ({"generation": {"max_new_tokens": 8}}, "generation.max_new_tokens"),
        ({"zoom": {"max_rounds": 3}}, "zoom.max_rounds"),
        ({"benchmarks": [{"name": "aid", "data": "scenes", "options": {"dataset": "other"}}]}, "aid.options"),
        ({"benchmarks": [{"name": "aid", "data": "scenes", "split": "test"}]}, "aid.split"),
    ],
)
def test_changed_settings_do_not_reuse_a_cache(bench_root, qwen25_folder, tmp_path, make_config, change, named):
    aid = [{"name": "aid", "data": "scenes"}]
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=aid, plots=False)
    run_evaluation(config, generate=_constant)
    changed = make_config(qwen25_folder, bench_root, tmp_path, **{"benchmarks": aid, "plots": False, **change})
    with pytest.raises(ConfigError, match="other settings") as refused:
        run_evaluation(changed, generate=_constant)
    assert named in str(refused.value)


def test_settings_that_do_not_change_predictions_reuse_the_cache(bench_root, qwen25_folder, tmp_path, make_config):
    aid = [{"name": "aid", "data": "scenes"}]
    run_evaluation(make_config(qwen25_folder, bench_root, tmp_path, benchmarks=aid, plots=False), generate=_constant)
    again = make_config(
        qwen25_folder,
        bench_root,
        tmp_path,
        benchmarks=[{**aid[0], "limit": 2}],
        plots=False,
        generation={"batch_size": 1},
        progress=True,
    )

    def must_not_run(conversations):
        raise AssertionError("every prediction is cached")

    run_evaluation(again, generate=must_not_run)


def test_cache_refuses_duplicates_and_reports_bad_lines(tmp_path):
    path = shard_path(tmp_path, 0, 1)
    with PredictionCache(path) as cache:
        cache.add({"id": "a", "prediction": "x"})
        with pytest.raises(ValueError, match="already cached"):
            cache.add({"id": "a", "prediction": "y"})
    assert PredictionCache(path).entries == {"a": {"id": "a", "prediction": "x"}}
    entries, missing = merge_shards(tmp_path, ["a", "b"])
    assert [e["id"] for e in entries] == ["a"] and missing == ["b"]
    path.write_text('{"id": "a"}\nnot json\n')
    with pytest.raises(ValueError, match=r"predictions.rank0-of-1.jsonl:2: not a JSON line"):
        PredictionCache(path)


def test_a_later_run_adds_benchmarks_to_the_report(
    bench_root, qwen25_folder, tmp_path, subset, make_config, oracle_class
):
    first = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=subset[:1], plots=False)
    run_evaluation(first, generate=oracle_class(first))
    second = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=subset[1:2], plots=False)
    run_dir = run_evaluation(second, generate=oracle_class(second))
    keys = set(json.loads((run_dir / "results.json").read_text())["benchmarks"])
    assert keys == {subset[0]["name"], subset[1]["name"]}


KILLED_RUN = """
import os, signal, sys
from rscovlm_eval import run_evaluation

calls = 0


def generate(conversations):
    global calls
    replies = []
    for _ in conversations:
        if calls == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        calls += 1
        replies.append("yes")
    return replies


run_evaluation(sys.argv[1], generate=generate)
"""


def test_killed_process_resumes_without_loss_or_duplicates(bench_root, qwen25_folder, tmp_path, subset, make_config):
    def constant(conversations):
        return ["yes" for _ in conversations]

    settings = {"benchmarks": subset, "plots": False, "generation": {"batch_size": 2}}
    reference = make_config(qwen25_folder, bench_root, tmp_path / "reference", **settings)
    expected = json.loads((run_evaluation(reference, generate=constant) / "results.json").read_text())
    config = make_config(qwen25_folder, bench_root, tmp_path / "killed", **settings)
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(path), "5"], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert len(_lines(config.run_dir)) == 4  # two complete batches of two reached the cache
    run_dir = run_evaluation(config, generate=constant)
    lines = _lines(run_dir)
    assert (
        len(lines)
        == len({(e["dataset"], e["id"]) for e in lines})
        == sum(b["count"] for b in expected["benchmarks"].values())
    )
    assert json.loads((run_dir / "results.json").read_text())["benchmarks"] == expected["benchmarks"]
