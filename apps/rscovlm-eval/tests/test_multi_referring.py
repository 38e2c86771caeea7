"""GeoChat-Bench multi-object referring: GIoU, greedy matching and F1 = 1 by hand, and every line of the file scored."""

import json

import numpy as np
import pytest
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.multi_referring import evaluate_multi_referring, polygon_giou, sample_f1
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
