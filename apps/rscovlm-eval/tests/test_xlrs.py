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


def _png(color: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def lmms_folder(tmp_path) -> tuple[Path, list[bytes]]:
    """lmms-eval's XLRS-Bench-lite layout (a `save_to_disk` DatasetDict, split `train`) with the columns its
    `xlrs-lite` task reads: a counting question, an overall land-use question with two answers, a regional land-use
    question with one, and a row without choices."""
    import datasets

    pngs = [_png((10, 20, 30), (96, 64)), _png((200, 100, 0), (64, 48)), _png((0, 90, 0), (32, 32))]
    options = ["(A) 3", "(B) 5", "(C) 8", "(D) 12"]
    land = ["(A) residential", "(B) farmland", "(C) forest", "(D) water"]
    rows = {
        "index": [0, 1, 2, 3],
        "question": [
            "How many storage tanks are in the image?",
            "Which land use types appear?",
            "What is at the top?",
            "?",
        ],
        "multi-choice options": [options, land, land, []],
        "answer": ["C", "A D", "B", "A"],
        "category": [
            "Counting/Overall counting",
            "Land use classification/Overall Land use classification",
            "Land use classification/Regional Land use classification",
            "Counting/Overall counting",
        ],
        "l2-category": ["perception", "perception", "perception", "perception"],
        "image": [[{"bytes": pngs[0], "path": None}], [{"bytes": pngs[1], "path": None}]]
        + [[{"bytes": pngs[2], "path": None}]] * 2,
    }
    features = datasets.Features(
        {
            "index": datasets.Value("int64"),
            "question": datasets.Value("string"),
            "multi-choice options": datasets.List(datasets.Value("string")),
            "answer": datasets.Value("string"),
            "category": datasets.Value("string"),
            "l2-category": datasets.Value("string"),
            "image": datasets.List(datasets.Image()),
        }
    )
    folder = tmp_path / "XLRS-Bench-lite"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(str(folder))
    return folder, pngs


def test_lmms_eval_folder_reads_as_its_task_prompts(lmms_folder, tmp_path):
    folder, pngs = lmms_folder
    result = READERS["xlrs-bench"].read(folder, image_cache=tmp_path / "cache")
    assert [r.id for r in result.records] == ["0", "1", "2"]
    assert [s.reason.split(":")[0] for s in result.skipped] == ["row 3"]  # no choices
    counting, overall, regional = result.records
    # lmms-eval's xlrs_doc_to_text: question + "The choices are listed below:\n" + options + "\n" + post prompt
    assert counting.annotation.question == (
        "How many storage tanks are in the image?The choices are listed below:\n(A) 3\n(B) 5\n(C) 8\n(D) 12\n\n"
        "Select the best answer for the multiple-choice question based on the image. Only respond with the letter "
        "corresponding to the correct answer (A, B, C, D).\nThe answer is:"
    )
    assert overall.annotation.question.endswith(
        "\n(D) water\n\nSelect the best answer(s) for the multiple-choice question based on the image. There may be "
        "more than one correct option. Only respond with the letter(s) corresponding to the correct answer(s) "
        "(A, B, C, D), with multiple choices separated by spaces.The answer(s) is(are):"
    )
    assert regional.annotation.question.endswith("(A, B, C, D).\nThe answer is:")  # one answer: the single prompt
    assert [(r.annotation.answer, r.meta["multiple"]) for r in result.records] == [
        ("C", False),
        ("A D", True),
        ("B", False),
    ]
    assert (counting.annotation.question_type, counting.meta["l2_category"]) == ("Overall counting", "Counting")
    assert (tmp_path / "cache" / "0.png").read_bytes() == pngs[0]  # written as stored
    assert (counting.images[0].width, counting.images[0].height) == (96, 64)


def test_lmms_eval_folder_runs_and_scores(lmms_folder, tmp_path, qwen25_folder, make_config, oracle_class):
    folder, _ = lmms_folder
    bench = {"name": "xlrs-bench", "data": str(folder), "options": {"image_cache": str(tmp_path / "cache")}}
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=oracle_class(config))
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["xlrs-bench"]
    assert result["accuracy"] == 1.0 and result["count"] == 3 and result["skipped_inputs"] == 1
