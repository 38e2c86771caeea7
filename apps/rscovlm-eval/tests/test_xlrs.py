"""XLRS-Bench VQA: VLMEvalKit's TSV read (base64 images written once), its prompt, and the letter rule by hand."""

import json
from pathlib import Path

import pytest
from rs_data.readers import READERS
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.xlrs import answer_letters, evaluate_xlrs

DATA = Path(__file__).parent / "data" / "xlrs" / "XLRS-Bench-lite_VLM_small.tsv"


def test_letters_and_accuracies_hand_computed():
    assert answer_letters("The answer is (B) and D.") == ["B", "D"] and answer_letters("A bridge") == ["A"]
    assert answer_letters("BRIDGE") == []
    # letters inside words are not letters (lmms-eval's pattern would read B and E, and A-E)
    assert answer_letters("B. forest") == ["B"] and answer_letters("B, because the road") == ["B"]
    result = evaluate_xlrs(
        ["C", "(B)", "A D", "D", "A B D"],
        ["C", "C", "D A", "A D", "A D"],
        ["counting", "counting", "land use", "land use", "land use"],
        ["Counting", "Counting", "Land Use", "Land Use", "Land Use"],
        [False, False, True, True, True],
    )
    # counting 1/2; land use: {A, D} right, {D} wrong (a subset), {A, B, D} wrong (an extra letter): 1/3
    assert result.per_type["counting"].accuracy == 0.5
    assert result.per_type["land use"].accuracy == pytest.approx(1 / 3)
    assert result.accuracy == pytest.approx(2 / 5)  # micro
    assert result.average_accuracy == pytest.approx((0.5 + 1 / 3) / 2)  # macro over L3 tasks


def test_reader(tmp_path):
    result = READERS["xlrs-bench"].read(DATA, image_cache=tmp_path / "cache")
    assert [r.id for r in result.records] == ["0", "1"] and (tmp_path / "cache" / "0.png").is_file()
    first = result.records[0]
    assert (first.images[0].width, first.images[0].height) == (96, 64)
    assert first.annotation.question == (
        "How many storage tanks are in the image? The choices are listed below:\n(A) 3\n(B) 5\n(C) 8\n(D) 12\n"
        "Select the best answer for the multiple-choice question based on the image. Only respond with the letter "
        "corresponding to the correct answer (A, B, C, D).\nThe answer is:"
    )
    assert result.records[1].meta == {"l2_category": "Land Use Classification", "multiple": True}
    assert "There may be more than one correct option" in result.records[1].annotation.question
    assert len(result.skipped) == 1 and result.skipped[0].line == 4  # the row whose image is not base64


def test_run(tmp_path, qwen25_folder, make_config, oracle_class):
    bench = {"name": "xlrs-bench", "data": str(DATA), "options": {"image_cache": str(tmp_path / "cache")}}
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=oracle_class(config))
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["xlrs-bench"]
    assert result["accuracy"] == 1.0 and result["count"] == 2 and result["skipped_inputs"] == 1
    assert "XLRS-Bench VQA" in (run_dir / "results.md").read_text()
