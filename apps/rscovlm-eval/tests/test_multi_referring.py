"""GeoChat-Bench referring: upstream's GIoU / F1 = 1 rule and GeoChat's accuracy@0.5 by hand, and every line of the
file scored by both."""

import json

import numpy as np
import pytest
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.multi_referring import (
    boxes_found,
    evaluate_geochat_grounding,
    evaluate_multi_referring,
    polygon_giou,
    sample_f1,
)
from rscovlm_eval.metrics.result import Accuracy

A = np.array([0, 0, 10, 0, 10, 10, 0, 10], float)


def _shifted(dx: float) -> np.ndarray:
    return A + np.array([dx, 0] * 4)


@pytest.mark.parametrize(
    ("other", "giou"),
    [
        (A, 1.0),
        (_shifted(5), 1 / 3),  # IoU 50/150, hull 15 x 10 = union: GIoU = IoU
        (_shifted(10), 0.0),  # touching: IoU 0, hull 200 = union
        (_shifted(20), -1 / 3),  # IoU 0, union 200, hull 30 x 10 = 300: -(300 - 200) / 300
    ],
)
def test_giou_hand_computed(other, giou):
    assert polygon_giou(A, other) == pytest.approx(giou)


def test_f1_after_greedy_matching():
    far = _shifted(50)
    assert sample_f1([A, far], [A, far]) == 1.0
    assert sample_f1([A, far], [A]) == pytest.approx(2 / 3)  # TP 1, FP 1: 2 / (2 + 1)
    assert sample_f1([_shifted(5)], [A]) == 0.0  # GIoU 1/3 < 0.5: no match, F1 = 0
    assert sample_f1([], [A]) == 0.0
    result = evaluate_multi_referring([[A], [A]], [[A], [A, far]], [{"objects": "single"}, {"objects": "multiple"}])
    assert result.accuracy == 0.5
    assert result.groups["objects"] == {"multiple": Accuracy(0.0, 1), "single": Accuracy(1.0, 1)}


def test_geochat_accuracy_counts_ground_truth_boxes_found():
    far = _shifted(50)
    assert boxes_found([_shifted(2.5)], [A]) == 1  # IoU 75 / 125 = 0.6 > 0.5
    assert boxes_found([_shifted(10 / 3)], [A]) == 0  # IoU (20/3) / (40/3) = 0.5 exactly: not above
    assert boxes_found([far, A], [A, far]) == 2  # paired by IoU, not by order
    assert boxes_found([A, A], [A, far]) == 1  # one box finds one target only
    assert boxes_found([], [A]) == 0
    result = evaluate_geochat_grounding(
        [[A], [A], [A, far]],
        [[A], [A, far], [A, far]],
        [{"objects": "single"}, {"objects": "multiple"}, {"objects": "multiple"}],
    )
    # boxes: 1 of 1, 1 of 2, 2 of 2 -> 4 of 5; lines: 3
    assert result.accuracy == pytest.approx(4 / 5) and result.count == 3
    assert result.groups["objects"] == {"multiple": Accuracy(3 / 4, 4), "single": Accuracy(1.0, 1)}


def test_every_referring_line_is_scored(bench_root, qwen25_folder, make_config, oracle_class, tmp_path):
    bench = {"name": "geochat-referring-all", "data": "geochat/referring_small.jsonl"}
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=oracle_class(config))
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["geochat-referring-all"]
    # the oracle answers with the first target only: the two single-object lines are right, the two-object line
    # (question 9) finds one of two (F1 2/3) and is wrong
    assert result["count"] == 3 and result["accuracy"] == pytest.approx(2 / 3)
    assert result["per_objects"]["single"] == {"accuracy": 1.0, "count": 2}
    assert result["per_objects"]["multiple"] == {"accuracy": 0.0, "count": 1}
    assert result["per_type"]["grounding"]["accuracy"] == 0.0 and result["per_size"]["medium"]["accuracy"] == 1.0
    assert "Multi-object referring" in (run_dir / "results.md").read_text()


def test_geochat_accuracy_of_every_line(bench_root, qwen25_folder, make_config, oracle_class, tmp_path):
    bench = {"name": "geochat-grounding", "data": "geochat/referring_small.jsonl"}
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=oracle_class(config))
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["geochat-grounding"]
    # the oracle's first-target answers find 1 + 1 + 1 of the 4 ground-truth boxes (question 9 has two)
    assert result["count"] == 3 and result["accuracy"] == pytest.approx(3 / 4)
    assert result["per_objects"] == {"multiple": {"accuracy": 0.5, "count": 2}, "single": {"accuracy": 1.0, "count": 2}}
    assert result["per_type"]["grounding"] == {"accuracy": 0.5, "count": 2}
    assert result["per_size"]["large"] == {"accuracy": pytest.approx(2 / 3), "count": 3}
    markdown = (run_dir / "results.md").read_text()
    assert "GeoChat's accuracy@0.5" in markdown
    assert "| geochat-grounding | 75.00 | 66.67 | 100.00 | 50.00 | 100.00 | 50.00 | 100.00 | 3 |" in markdown
