"""Every benchmark family end to end on the real-format fixtures: the oracle proves the scoring round trip."""

import json

import pytest
from rscovlm_eval import run_evaluation


@pytest.fixture(scope="module")
def oracle_run(bench_root, qwen25_folder, tmp_path_factory, make_config, oracle_class):
    config = make_config(qwen25_folder, bench_root, tmp_path_factory.mktemp("oracle"))
    run_dir = run_evaluation(config, generate=oracle_class(config))
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_every_benchmark_is_scored(oracle_run, all_benchmarks):
    _, results = oracle_run
    assert set(results["benchmarks"]) == {b["name"] + ("+zoom" if b.get("zoom") else "") for b in all_benchmarks}
    for key, result in results["benchmarks"].items():
        assert result["count"] > 0, key
        assert result["errors"]["count"] == 0, (key, result["errors"])


def test_oracle_answers_score_perfectly(oracle_run):
    _, results = oracle_run
    b = results["benchmarks"]
    assert b["aid"]["accuracy"] == 1.0 and b["aid"]["count"] == 4
    assert b["sydney-captions"]["count"] == 3  # the train image is not part of the test split
    assert b["nwpu-captions"]["count"] == 2  # the test split of both classes
    assert b["geochat-aid"]["accuracy"] == 1.0 and b["geochat-aid"]["count"] == 3
    assert b["geochat-lrben"]["accuracy"] == 1.0 and b["geochat-lrben"]["count"] == 2
    assert b["geochat-lrben"]["skipped_inputs"] == 1  # the line without an answer
    assert b["rsvqa-lr"]["accuracy"] == 1.0 and b["rsvqa-lr"]["count_mae"] == 0.0
    assert b["vrsbench-vqa"]["accuracy"] == 1.0
    assert b["geochat-referring"]["count"] == 2 and b["geochat-referring"]["skipped_inputs"] == 1
    for key in ("dior-rsvg", "vrsbench-ref", "geochat-referring"):
        assert b[key]["acc@0.5"] == 1.0 and b[key]["mean_iou"] > 0.95, key
    for key in ("dota1.0", "dior-r", "hrsc2016", "fair1m"):
        present = {c: v for c, v in b[key]["per_class"].items() if v["num_gt"]}
        assert present and all(v["ap"] == pytest.approx(1.0) for v in present.values()), (key, present)
        assert b[key]["map_mmrotate"] == pytest.approx(1.0), key
    assert b["lrs-vqa"]["accuracy"] == 1.0
    assert b["lrs-vqa"]["per_source"]["FAIR"]["count"] == 2 and b["lrs-vqa"]["per_source"]["STAR"]["count"] == 1
    assert "zoom" not in b["lrs-vqa"]
    assert b["lrs-vqa+zoom"]["accuracy"] == 1.0
    assert b["lrs-vqa+zoom"]["zoom"]["zoom_rate"] == 1.0 and b["lrs-vqa+zoom"]["zoom"]["mean_rounds"] == 1.0
    assert b["mme-realworld-rs"]["accuracy"] == 1.0 and b["mme-realworld-rs"]["count"] == 2
    assert b["dota1.0-test"]["images"] == 1 and b["dota1.0-test"]["objects"] == 0  # no labels: "There are none."


@pytest.mark.slow
def test_captions_perfect(oracle_run):
    _, results = oracle_run
    for key in ("sydney-captions", "nwpu-captions", "vrsbench-cap"):
        assert results["benchmarks"][key]["BLEU-1"] > 0.2, key


def test_report_files(oracle_run):
    run_dir, results = oracle_run
    markdown = (run_dir / "results.md").read_text()
    for title in (
        "Scene classification",
        "Image captioning",
        "Visual grounding",
        "Oriented object detection",
        "LRS-VQA",
        "MME-RealWorld",
    ):
        assert title in markdown
    assert "| dota1.0 |" in markdown
    plots = results["plots"]
    assert "plots/aid_confusion.png" in plots and "plots/dota1.0_pr.png" in plots and "plots/dota1.0_ap.png" in plots
    for plot in plots:
        assert (run_dir / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    task1 = sorted(p.name for p in (run_dir / "dota1.0-test" / "task1").iterdir())
    assert len(task1) == 15 and (run_dir / "dota1.0-test" / "task1.zip").is_file()


def test_relative1000_convention_round_trips(
    bench_root, qwen3_folder, tmp_path, all_benchmarks, make_config, oracle_class
):
    benchmarks = [b for b in all_benchmarks if b["name"] in ("dota1.0", "dior-rsvg")]
    config = make_config(qwen3_folder, bench_root, tmp_path, benchmarks=benchmarks, plots=False)
    results = json.loads((run_evaluation(config, generate=oracle_class(config)) / "results.json").read_text())
    assert results["spec"]["convention"] == "relative1000"
    assert results["benchmarks"]["dota1.0"]["map_mmrotate"] > 0.9
    assert results["benchmarks"]["dior-rsvg"]["acc@0.5"] == 1.0
