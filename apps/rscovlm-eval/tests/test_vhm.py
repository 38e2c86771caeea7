"""VHM-Eval: the suite rules by hand (VHM's evaluation kit) and a run over the honest-question suites."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.result import Accuracy
from rscovlm_eval.metrics.vhm import evaluate_vhm, parse_count

DATA = Path(__file__).parent / "data" / "vhm" / "datasets_eval"


def test_rules_hand_computed():
    result = evaluate_vhm(
        [
            "Yes, there is.",
            "No.",
            "I am not sure",
            "white and red",
            "Red",
            "(B) bottom right",
            "none",
            "There are three.",
            "12",
            "about 8",
            "3.5 m and 20",
            "1",
            "dense residential",
            "",
        ],
        [
            "yes",
            "no",
            "yes",
            "white, red",
            "white,red",
            "B",
            "A",
            "3",
            "10",
            "no number",
            "3, 25",
            "4.0",
            "denseresidential",
            "beach",
        ],
        ["presence_mo_dota"] * 3
        + ["color_x"] * 2
        + ["abspos_x"] * 2
        + ["counting_x"] * 3
        + ["obj_meas_x"] * 2
        + ["cls_AID"] * 2,
    )
    suites = result.per_suite
    # "I am not sure": "no" occurs in "not" and "yes" does not: read as "no", wrong
    assert suites["presence_mo_dota"].scores.accuracy == pytest.approx(2 / 3)
    assert suites["color_x"].scores.accuracy == pytest.approx((1 + 0.5) / 2)  # both colours; one of two
    assert suites["abspos_x"].scores.accuracy == 0.5  # "none" has no letter A-E
    # counting: 3 vs 3, 12 vs 10 (error 2, 20 %); "no number" is no count: a parsing failure
    counting = suites["counting_x"].scores
    assert counting.mae == 1.0 and counting.mape == pytest.approx(0.1) and counting.parsing_failures == 1
    assert counting.accuracy == 0.5 and counting.per_range["(2, 6]"] == Accuracy(1.0, 1)
    # measurement: (3.5, 20) vs (3, 25): errors 0.5 and 5, relative 1/6 and 1/5; "1" vs "4.0": 3, 3/4
    measurement = suites["obj_meas_x"].scores
    assert measurement.mae == pytest.approx((0.5 + 5 + 3) / 3)
    assert measurement.mape == pytest.approx((1 / 6 + 1 / 5 + 3 / 4) / 3)
    assert suites["cls_AID"].scores.accuracy == 0.5  # spaces removed: contained; the empty answer is wrong


def test_number_words():
    assert parse_count("twenty-one planes") == 21 and parse_count("Seven") == 7 and parse_count("many") is None


def test_unknown_suites_are_counted_apart():
    result = evaluate_vhm(["x"], ["y"], ["bfv_crowdai_val"])
    assert result.unscored == {"bfv_crowdai_val": 1} and result.per_suite == {}


class Echo:
    """A `generate` that keeps the prompts and answers the ground truth it is told."""

    def __init__(self, answers):
        self.answers, self.prompts = answers, []

    def __call__(self, conversations):
        texts = [c[-1]["content"][-1]["text"] for c in conversations]
        self.prompts += texts
        return [self.answers[t] for t in texts]


def test_honest_suites_run(tmp_path, qwen25_folder, make_config):
    answers = {}
    for path in DATA.glob("*.json"):
        for item in json.loads(path.read_text()):
            image = tmp_path / item["image_path"] / item["image"]
            image.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((64, 64, 3), 80, np.uint8)).save(image)
            human, gpt = item["conversations"]
            answers[human["value"].replace("<image>", "").strip()] = gpt["value"]
    bench = {"name": "vhm-honest", "data": str(DATA), "images": str(tmp_path)}
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[bench], plots=False)
    echo = Echo(answers)
    run_dir = run_evaluation(config, generate=echo)
    assert sorted(echo.prompts) == sorted(answers)  # the question as VHM words it, nothing appended
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["vhm-honest"]
    assert result["count"] == 5 and set(result["per_suite"]) == {p.stem for p in DATA.glob("*.json")}
    assert all(s["accuracy"] == 1.0 for s in result["per_suite"].values())
    assert "| vhm-honest | presence_mo_dota | presence | 100.00 |" in (run_dir / "results.md").read_text()
