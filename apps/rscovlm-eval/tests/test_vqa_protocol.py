"""Upstream RSCoVLM's VQA prompt wording and contains rule, and its detection option for images without labels."""

import numpy as np
import pytest
from rs_data import Record, VQAAnnotation
from rs_data.render import RenderConfig, render
from rs_data.schema import ImageRef
from rs_resolution import ResolutionPolicy
from rscovlm_eval.metrics.contains import contains_match
from rscovlm_eval.metrics.vqa import evaluate_vqa
from rscovlm_eval.registry import get_benchmark
from rscovlm_eval.scoring import ScoringContext, score_detection

FRAME = {"width": 1000, "height": 1000, "resized_width": 1000, "resized_height": 1000}
PLANE = [100.0, 100.0, 200.0, 100.0, 200.0, 150.0, 100.0, 150.0]
PLANE_TEXT = "100,100,200,100,200,150,100,150 plane"


def test_vqa_prompt_ends_with_upstreams_instruction():
    record = Record(
        id="q",
        dataset="d",
        task="vqa",
        images=[ImageRef(path="x.png", width=256, height=256)],
        annotation=VQAAnnotation(question="Is there a road?", answer="yes"),
    )
    sample = render(record, ResolutionPolicy(), RenderConfig(), np.random.default_rng(0))
    assert sample.messages[0]["content"][1]["text"] == (
        "Is there a road? Answer the question using a single word or a short phrase."
    )


@pytest.mark.parametrize(
    ("prediction", "answer", "correct"),
    [
        ("Yes, there is a road.", "yes", True),  # "yes" occurs in "yes, there is a road"
        (" 2. ", "2", True),  # whitespace, then periods stripped
        ("There are 12 cars", "2", True),  # a plain substring test, as upstream: "2" is in "12"
        ("no", "yes", False),
        ("small", "Small vehicle", False),  # the ground truth must be inside the prediction, not the reverse
    ],
)
def test_contains_rule(prediction, answer, correct):
    assert contains_match(prediction, answer) is correct


def test_vrsbench_vqa_is_scored_by_contains():
    assert get_benchmark("vrsbench-vqa").vqa_match == "contains" and get_benchmark("rsvqa-lr").vqa_match == "exact"
    predictions, answers = ["yes, it is", "2"], ["yes", "2"]
    assert evaluate_vqa(predictions, answers, [None, None], match="contains").accuracy == 1.0
    assert evaluate_vqa(predictions, answers, [None, None]).accuracy == 0.5  # exact: "yes it is" != "yes"


def _entry(image_id, prediction, objects):
    target = {"kind": "detection", "objects": objects, "classes": ["plane"]}
    return {"id": image_id, "prediction": prediction, "frame": FRAME, "target": target}


@pytest.mark.parametrize(("clear", "precision"), [(False, 0.5), (True, 1.0)])
def test_clear_pred_for_empty_gt(clear, precision):
    # image A: one plane, found; image B: no labels, one false plane. mF1 precision is 1/2 with B's answer, 1/1 without.
    entries = [
        _entry("A", PLANE_TEXT, [{"label": "plane", "polygon": PLANE, "difficult": False}]),
        _entry("B", PLANE_TEXT, []),
    ]
    ctx = ScoringContext(convention="absolute", box_type="poly", dense_det_clear_pred_for_empty_gt=clear)
    result = score_detection(entries, ctx)
    assert result.mf1.per_class["plane"]["precision"] == pytest.approx(precision)
    assert result.mf1.per_class["plane"]["recall"] == 1.0
