"""VHM-Eval: the suite rules by hand (VHM's evaluation kit) and a run over the honest-question suites."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.result import Accuracy
from rscovlm_eval.metrics.vhm import evaluate_vhm, parse_count
from rscovlm_eval.metrics.vhm_geometry import bracket_points
from rscovlm_eval.registry import BENCHMARKS

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
    result = evaluate_vhm(["x"], ["y"], ["lhrs_bench"])
    assert result.unscored == {"lhrs_bench": 1} and result.per_suite == {}


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
    honest = [DATA / name for name in BENCHMARKS["vhm-honest"].reader_options["files"]]
    for path in honest:
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
    assert result["count"] == 5 and set(result["per_suite"]) == {p.stem for p in honest}
    assert all(s["accuracy"] == 1.0 for s in result["per_suite"].values())
    assert "| vhm-honest | presence_mo_dota | presence | 100.00 |" in (run_dir / "results.md").read_text()


def _points(*xy):
    return np.array(xy, dtype=float)


def test_grounding_suite_hand_computed():
    result = evaluate_vhm(
        ["", "", "", ""],
        ["[0, 0, 30, 10]", "[0, 0, 30, 10]", "[0, 0, 100, 100]", "none"],
        ["VG_DOIR_RSVG_test"] * 4,
        points=[_points((0, 0), (20, 10)), _points((10, 0), (40, 10)), None, _points((0, 0), (1, 1))],
    )
    scores = result.per_suite["VG_DOIR_RSVG_test"].scores
    # IoU 200/300 and exactly 0.5 (the kit's rule is IoU >= 0.5: both hit); no box: IoU 0; "none" has no box
    assert scores.accuracy == pytest.approx(2 / 3) and scores.no_box == 1 and scores.unreadable_answers == 1
    assert scores.mean_iou == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert scores.by_size == {"small": Accuracy(1.0, 2), "large": Accuracy(0.0, 1)}  # areas 300 and 10000


def test_vectorisation_suite_hand_computed():
    half = _points((0, 0), (5, 0), (5, 10), (0, 10))  # the left half of a 10 x 10 image: 50 of its 100 pixels
    half_five = _points((0, 0), (5, 0), (5, 5), (5, 10), (0, 10))  # the same region with a fifth vertex
    result = evaluate_vhm(
        ["", "", ""],
        ["[0, 0, 1000, 0, 1000, 1000, 0, 1000]"] * 3,  # the whole image on VHM's 0-1000 grid
        ["bfv_crowdai_val"] * 3,
        points=[half, half_five, None],
        sizes=[(10, 10)] * 3,
    )
    scores = result.per_suite["bfv_crowdai_val"].scores
    # mask IoU 50 / 100 twice, 0 without a polygon; vertex penalty 1 - |5 - 4| / 9 = 8/9 on the second
    assert scores.mean_iou == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert scores.mean_ciou == pytest.approx((0.5 + 0.5 * 8 / 9 + 0) / 3)
    assert scores.no_polygon == 1


def test_multi_label_suite_hand_computed():
    question = "Which categories are in the image: built-up, farmland, water."
    result = evaluate_vhm(
        ["farmland and water", "built-up, farmland", "water"],
        ["farmland, water", "water", "water"],
        ["mlc_gid_test"] * 3,
        questions=[question, question, "Which categories are in the image?"],
    )
    scores = result.per_suite["mlc_gid_test"].scores
    # named by the model: farmland 2, water 1, built-up 1; by both: farmland 1, water 1; in the answers:
    # farmland 1, water 2. CP = (0 + 1/2 + 1) / 3; CR = (1 + 1/2) / 2 over the categories with ground truth
    assert scores.average_cp == pytest.approx(0.5) and scores.average_cr == pytest.approx(0.75)
    assert scores.cf1 == pytest.approx(2 * 0.5 * 0.75 / 1.25) and scores.no_categories == 1


def test_bracket_points():
    assert bracket_points("The box is [12, 30.5, 40, 60] here").tolist() == [[12, 30.5], [40, 60]]
    assert bracket_points("12,30,40,60 car").tolist() == [[12, 30], [40, 60]]  # no brackets: every number
    assert bracket_points("no box") is None
    assert bracket_points("[" + "9" * 400 + ", 1, 2]").tolist() == [[1, 2]]  # overflowing numbers are dropped


def _in_model_pixels(answer: str, scale: float) -> str:
    """A bracketed answer's numbers times `scale`, rounded, as plain box text."""
    return ",".join(str(round(v * scale)) for v in bracket_points(answer).reshape(-1))


def test_geometric_and_multi_label_suites_run(tmp_path, qwen25_folder, make_config):
    # image side, and the factor from the answer's numbers to Qwen2.5-VL's resized pixels (smart_resize within
    # 3136-200704 pixels: 800 -> 448, 300 -> 308; the polygon answers are on VHM's 0-1000 grid)
    sizes = {"VG_DOIR_RSVG_test": (800, 448 / 800), "bfv_crowdai_val": (300, 308 / 1000), "mlc_gid_test": (256, 0)}
    answers = {}
    for suite, (side, scale) in sizes.items():
        for item in json.loads((DATA / f"{suite}.json").read_text()):
            image = tmp_path / item["image_path"] / item["image"]
            image.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((side, side, 3), 80, np.uint8)).save(image)
            human, gpt = item["conversations"]
            answer = _in_model_pixels(gpt["value"], scale) if scale else gpt["value"]
            answers[human["value"].replace("<image>", "").strip()] = answer
    names = ("vhm-grounding", "vhm-building-vectorisation", "vhm-multi-label")
    benches = [{"name": n, "data": str(DATA), "images": str(tmp_path), "options": {}} for n in names]
    benches[2]["options"] = {"files": ["mlc_gid_test.json"]}  # the fixtures hold one of the two files
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=benches, plots=False)
    run_dir = run_evaluation(config, generate=Echo(answers))
    results = json.loads((run_dir / "results.json").read_text())["benchmarks"]
    grounding = results["vhm-grounding"]["per_suite"]["VG_DOIR_RSVG_test"]
    assert grounding["accuracy"] == 1.0 and grounding["by_size"]["small"] == {"accuracy": 1.0, "count": 1}
    assert grounding["mean_iou"] > 0.9  # rounding in the resized image
    building = results["vhm-building-vectorisation"]["per_suite"]["bfv_crowdai_val"]
    assert building["mean_iou"] > 0.95 and building["mean_ciou"] == building["mean_iou"]  # four vertices each
    multi_label = results["vhm-multi-label"]["per_suite"]["mlc_gid_test"]
    assert multi_label["average_cp"] == pytest.approx(2 / 5)  # farmland and water right; three never named: 0
    assert multi_label["average_cr"] == 1.0
    markdown = (run_dir / "results.md").read_text()
    row = "| vhm-multi-label | mlc_gid_test | multi_label | - | - | - | CP 40.00, CR 100.00, CF1 57.14 | 1 |"
    assert row in markdown
