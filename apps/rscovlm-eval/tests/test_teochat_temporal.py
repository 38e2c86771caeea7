"""TEOChatlas' temporal tasks: TEOChat's pixel F1, class-weighted F1 and accuracies by hand, and a time series read,
asked and scored end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.teochat_temporal import Item, answer_boxes, evaluate_teochat_temporal

DATA = Path(__file__).parent / "data" / "teochatlas" / "eval"


def _square(x0: int, y0: int, x1: int, y1: int) -> list[float]:
    return [x0, y0, x0, y1, x1, y1, x1, y0]


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ("[10, 20, 30, 40]", [[10, 20, 30, 40]]),
        ("10, 20, 30, 40", [[10, 20, 30, 40]]),
        ("The building at [10, 20, 30, 40].", [[10, 20, 30, 40]]),
        ("[[1, 2, 3, 4], [5, 6, 7, 8]]", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ("[1, 2, 3, 4, 5, 6, 7, 8]", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ("[1, 2]", []),
        ("There are no changed buildings.", []),
    ],
)
def test_box_only_answers_parse_with_or_without_brackets(text, boxes):
    assert answer_boxes(text).tolist() == boxes


def test_pixel_f1_over_the_task():
    items = [
        # truth 0..128 square: 129 x 129 = 16641 pixels; prediction 0..64 x 0..128: 65 x 129 = 8385, all inside
        Item("[0, 0, 25, 50]", "[0, 0, 50, 50]", "change_detection_localization", "xbd_loc",
             [_square(0, 0, 64, 128)], [_square(0, 0, 128, 128)]),
        # no changed building: every predicted pixel (192..255 squared: 64 x 64 = 4096) is a false positive
        Item("[75, 75, 100, 100]", "There are no changed buildings.", "change_detection_localization", "xbd_loc",
             [_square(192, 192, 256, 256)], [_square(0, 0, 128, 128)]),
    ]  # fmt: skip
    score = evaluate_teochat_temporal(items).per_task["xbd_loc/change_detection_localization"]
    tp, fp, fn = 8385, 4096, 16641 - 8385
    assert (score.metric, score.count) == ("f1", 2)
    assert score.score == pytest.approx(2 * tp / (2 * tp + fp + fn))


def _classified(pairs: list[tuple[str, str, int]], dataset: str, task: str) -> list[Item]:
    """(answer, truth, side) items, each over a side x side region (corner 0 .. side - 1)."""
    return [Item(p, t, task, dataset, (), [_square(0, 0, s - 1, s - 1)]) for p, t, s in pairs]


def test_damage_classification_by_inverse_prevalence():
    items = _classified(
        [("destroyed.", "Destroyed", 10), ("Destroyed", "No damage", 20), ("no damage", "No damage", 10),
         ("Destroyed", "Unclassified", 30), ("banana", "Minor damage", 10)],
        "xbd_dmg_cls", "change_detection_classification",
    )  # fmt: skip
    # areas: destroyed 100, no damage 400 + 100, minor 100 (unclassified left out); total 700
    # destroyed: tp 100, fp 400 -> P 0.2, R 1, F1 1/3; no damage: tp 100, fn 400 -> F1 1/3; minor: F1 0
    # weights 1 / prevalence: 7, 1.4, 7 -> (7/3 + 1.4/3) / 15.4 = 2/11
    score = evaluate_teochat_temporal(items).per_task["xbd_dmg_cls/change_detection_classification"]
    assert score.metric == "inv_w_f1" and score.score == pytest.approx(2 / 11)


def test_qfabric_region_classification_by_prevalence():
    items = _classified(
        [("Residential", "residential", 10), ("residential", "Commercial", 20)],
        "qfabric_rqa2", "region_based_question_answering",
    )  # fmt: skip
    # residential: tp 100, fp 400 -> F1 1/3, prevalence 100 / 500; commercial: F1 0
    score = evaluate_teochat_temporal(items).per_task["qfabric_rqa2/region_based_question_answering"]
    assert score.metric == "w_f1" and score.score == pytest.approx(1 / 15)


def test_keywords_count_for_xbd_questions_only():
    pairs = [("Yes, there are.", "yes"), ("The top left.", "top left"), ("No", "Yes")]
    items = [Item(p, t, "question_answering", d, (), ()) for d in ("xbd_sre_qa_rqa", "s2_sre_qa") for p, t in pairs]
    per_task = evaluate_teochat_temporal(items).per_task
    assert per_task["xbd_sre_qa_rqa/question_answering"].score == pytest.approx(2 / 3)
    assert per_task["s2_sre_qa/question_answering"].score == 0.0  # exact after cleaning: no pair is equal
    assert per_task["s2_sre_qa/question_answering"].metric == "accuracy"


def _frames(root: Path) -> None:
    for i, name in enumerate(("0_pre", "0_post")):
        (root / "xBD").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((512, 512, 3), 60 * (i + 1), np.uint8)).save(root / "xBD" / f"{name}.png")


def test_time_series_asked_in_time_order_and_scored(tmp_path, qwen25_folder, make_config):
    _frames(tmp_path)
    asked = []

    def generate(conversations):
        answers = []
        for conversation in conversations:
            user = next(m for m in conversation if m["role"] == "user")
            text = user["content"][-1]["text"]
            asked.append(([Path(p["image"]).name for p in user["content"] if p["type"] == "image"], text))
            # 512 px frames are seen at 448 px (max_pixels 448 x 448): 112 resized = 128 original = 64 on the grid
            answers.append("[0, 0, 112, 224]" if "Identify" in text else "Destroyed" if "Classify" in text else "Yes.")
        return answers

    bench = {"name": "teochatlas-temporal", "data": str(DATA), "images": str(tmp_path),
             "options": {"files": ["xBD_small.json"]}}  # fmt: skip
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=generate)
    assert {tuple(images) for images, _ in asked} == {("0_pre.png", "0_post.png")}
    question = next(text for _, text in asked if "Classify" in text)
    # [25, 25, 50, 50] of 512 px is 128..256 original, 112..224 in the 448 px the model sees
    assert question.startswith("Classify the level of damage experienced by the building at location [112,112,224,224]")
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["teochatlas-temporal"]
    per_task = result["per_task"]
    tp, fn = 8385, 16641 - 8385
    assert per_task["xbd_loc/change_detection_localization"]["score"] == pytest.approx(2 * tp / (2 * tp + fn))
    assert per_task["xbd_sre_qa_rqa/question_answering"] == {"metric": "keyword_accuracy", "score": 1.0, "count": 1}
    assert per_task["xbd_dmg_cls/change_detection_classification"]["score"] == 1.0
    assert result["count"] == 3 and result["skipped_inputs"] == 1
    manifest = json.loads((run_dir / "teochatlas-temporal" / "manifest.json").read_text())
    assert "item 3: 'original_input_polygon' is not WKT" in manifest["skipped"][0]["reason"]
    assert "TEOChatlas temporal tasks" in (run_dir / "results.md").read_text()
