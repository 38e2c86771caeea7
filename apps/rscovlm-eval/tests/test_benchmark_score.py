"""A benchmark's typed score and its results.json form: the dicts of a small hand-computed run, key for key."""

import json

from rscovlm_eval.metrics.grounding import GroundingResult
from rscovlm_eval.metrics.vqa import VqaResult
from rscovlm_eval.scoring import ScoringContext, score_benchmark

FRAME = {"width": 1000, "height": 1000, "resized_width": 1000, "resized_height": 1000}  # no resize
CAR = [100, 100, 200, 100, 200, 150, 100, 150]  # 100 x 50: area 5000, a medium object


def _vqa(sample_id, prediction, answer, question_type, rounds):
    target = {"kind": "vqa", "question": "q", "answer": answer, "question_type": question_type}
    zoom = {"rounds": rounds, "status": "answered"}
    return {"id": sample_id, "prediction": prediction, "frame": FRAME, "target": target, "zoom": zoom}


def _box(sample_id, prediction):
    target = {"kind": "referring", "expression": "the car", "polygon": CAR}
    return {"id": sample_id, "prediction": prediction, "frame": FRAME, "target": target}


def _same_keys_in_order(actual, expected):
    assert actual == expected
    assert json.dumps(actual) == json.dumps(expected)  # key order too, as results.json is written


def test_vqa_with_zoom_and_a_failed_sample():
    entries = [
        _vqa("1", "Yes.", "yes", "presence", 1),
        _vqa("2", "3 cars", "2", "count", 0),  # wrong; counting error |3 - 2| = 1
        {"id": "3", "error": "image unreadable: x.png"},
    ]
    score = score_benchmark("vqa", entries, ScoringContext(convention="absolute"))
    assert isinstance(score.result, VqaResult) and score.error_count == 1
    expected = {
        "accuracy": 0.5,
        "average_accuracy": 0.5,
        "count": 2,
        "match": "exact",
        "per_type": {"count": {"accuracy": 0.0, "count": 1}, "presence": {"accuracy": 1.0, "count": 1}},
        "count_mae": 1.0,
        "count_scored": 1,
        "count_unparsed": 0,
        "zoom": {"zoom_rate": 0.5, "mean_rounds": 0.5, "status": {"answered": 2}},
        "errors": {"count": 1, "reasons": {"image unreadable: x.png": 1}},
    }
    _same_keys_in_order(score.to_dict(), expected)


def test_grounding():
    entries = [
        _box("1", "100,100,200,150"),  # the box itself: IoU 1
        _box("2", "100,100,200,200"),  # twice its height: IoU 5000 / 10000 = 0.5, not above 0.5
        _box("3", "nothing here"),  # no box: IoU 0
    ]
    score = score_benchmark("grounding", entries, ScoringContext(convention="absolute"))
    assert isinstance(score.result, GroundingResult) and score.zoom is None
    by_size = {"medium": {"accuracy": 1 / 3, "mean_iou": 0.5, "count": 3}}
    expected = {
        "acc@0.5": 1 / 3,
        "mean_iou": 0.5,
        "no_box": 1,
        "count": 3,
        "by_size": by_size,
        "iou_rule": "IoU > 0.5",
        "errors": {"count": 0, "reasons": {}},
    }
    _same_keys_in_order(score.to_dict(), expected)


def test_nothing_to_score():
    score = score_benchmark("vqa", [{"id": "3", "error": "generation failed"}], ScoringContext(convention="absolute"))
    assert score.result is None
    _same_keys_in_order(score.to_dict(), {"count": 0, "errors": {"count": 1, "reasons": {"generation failed": 1}}})
