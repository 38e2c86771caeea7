"""LRS-VQA protocol parity: one normalisation for plain and zoom answers, OA and AA per source, the source x category
table, and upstream's rule of not zooming on counting questions."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data import Record, VQAAnnotation
from rs_data.schema import ImageRef
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.lrs_vqa import evaluate_lrs_vqa, lrs_correct, normalize_lrs_answer
from rscovlm_eval.metrics.result import Accuracy
from rscovlm_eval.tables import results_markdown
from rscovlm_eval.zoom_rules import zoom_groups

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("prediction", "answer", "correct"),
    [
        (" Urban\n", "urban", True),  # the official pipeline strips every answer, plain or zoomed
        ("urban", " urban ", True),
        ("urban.", "urban", False),  # a period is not stripped (upstream RSCoVLM's scorer would accept it)
    ],
)
def test_one_normalisation(prediction, answer, correct):
    assert normalize_lrs_answer(" Gray \n") == "gray"
    assert lrs_correct(prediction, answer) is correct


def test_overall_and_average_accuracy_per_source():
    # FAIR: count 1 of 2 right (0.5), object color 1 of 1 (1.0) -> OA 2/3, AA (0.5 + 1.0) / 2 = 0.75
    # STAR: count 0 of 1 -> OA 0, AA 0
    # all: count 1 of 3, color 1 of 1 -> OA 2/4 = 0.5, AA (1/3 + 1) / 2 = 2/3
    result = evaluate_lrs_vqa(
        ["1", "3", "blue ", "7"],
        ["1", "2", "blue", "4"],
        ["count", "count", "object color", "count"],
        ["FAIR_1", "FAIR_2", "FAIR_3", "STAR_1"],
    )
    fair, star = result.per_source["FAIR"], result.per_source["STAR"]
    assert fair.accuracy == pytest.approx(2 / 3) and fair.average_accuracy == pytest.approx(0.75)
    assert fair.per_category == {"count": Accuracy(0.5, 2), "object color": Accuracy(1.0, 1)}
    assert star.accuracy == 0.0 and star.average_accuracy == 0.0 and star.count == 1
    assert result.accuracy == 0.5 and result.average_accuracy == pytest.approx(2 / 3)
    markdown = results_markdown(
        {
            "model": "m",
            "spec": {"family": "qwen2_5_vl", "convention": "absolute"},
            "benchmarks": {
                "lrs-vqa": {**result.to_dict(), "metric": "lrs_vqa", "errors": {"count": 0}, "skipped_inputs": 0}
            },
        }
    )
    assert "| lrs-vqa | 66.67 | 75.00 | 0.00 | 0.00 | 50.00 | 66.67 | - | - | 4 |" in markdown
    assert "| FAIR | 50.00 | 100.00 |" in markdown and "| STAR | 0.00 | - |" in markdown
    assert "| all | 33.33 | 100.00 |" in markdown


def _record(qid: str, category: str) -> Record:
    image = ImageRef(path="x.png", width=10, height=10)
    annotation = VQAAnnotation(question="q", answer="a", question_type=category)
    return Record(id=qid, dataset="lrs-vqa", task="uhr_vqa", images=[image], annotation=annotation)


def test_zoom_groups_leave_counting_questions_unzoomed():
    records = [_record("FAIR_1", "count"), _record("FAIR_2", "object color"), _record("STAR_1", "Count")]
    groups = zoom_groups(records, True, ["count"])
    assert [([r.id for r in g], z) for g, z in groups] == [(["FAIR_2"], True), (["FAIR_1", "STAR_1"], False)]
    assert [([r.id for r in g], z) for g, z in zoom_groups(records, True, [])] == [
        (["FAIR_1", "FAIR_2", "STAR_1"], True)
    ]
    assert zoom_groups(records, False, ["count"]) == [(records, False)]


def test_counting_questions_skip_the_chain_by_default(tmp_path, qwen25_folder, make_config, oracle_class):
    # LRS_VQA_mixed.jsonl: FAIR_2036 (count) and STAR_735 (object color), real rows of the benchmark
    for row in map(json.loads, (DATA / "lrs_vqa" / "LRS_VQA_mixed.jsonl").read_text().splitlines()):
        width, height = row["image_size"]
        path = tmp_path / "images" / Path(row["image"]).name
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(path)
    bench = {"name": "lrs-vqa", "data": str(DATA / "lrs_vqa" / "LRS_VQA_mixed.jsonl"), "images": "images"}
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[{**bench, "zoom": True}], plots=False)
    run_dir = run_evaluation(config, generate=oracle_class(config))
    entries = {e["id"]: e for e in map(json.loads, (run_dir / "lrs-vqa+zoom" / "predictions.rank0-of-1.jsonl").open())}
    assert "zoom" not in entries["FAIR_2036"] and entries["STAR_735"]["zoom"]["rounds"] == 1
    run = json.loads((run_dir / "run.json").read_text())
    assert run["benchmarks"][0]["inputs"]["zoom_skip_categories"] == ["count"]
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["lrs-vqa+zoom"]
    assert result["accuracy"] == 1.0 and result["zoom"]["zoom_rate"] == 1.0
