import numpy as np
import pytest
from rscovlm_eval.metrics.grounding import SizeScores, evaluate_grounding, hbb_iou, size_bin


def test_hbb_iou_hand_computed():
    assert hbb_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(50 / 150)
    assert hbb_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_acc_counts_iou_strictly_above_half_and_missing_boxes_as_zero():
    target = np.array([0, 0, 30, 10])  # area 300: small
    inside = np.array([0, 0, 20, 10])  # IoU 200 / 300 -> hit
    iou_half = np.array([10, 0, 40, 10])  # inter 200, union 400 -> IoU exactly 0.5 -> miss (IoU > 0.5 rule)
    big = np.array([0, 0, 200, 200])
    result = evaluate_grounding([inside, iou_half, None, big], [target, target, target, big])
    assert result.accuracy == pytest.approx(2 / 4)
    assert result.mean_iou == pytest.approx((2 / 3 + 0.5 + 0 + 1) / 4)
    assert result.no_box == 1
    assert result.by_size["small"].count == 3
    assert result.by_size["large"] == SizeScores(accuracy=1.0, mean_iou=1.0, count=1)
    assert "medium" not in result.by_size


def test_size_bins_use_coco_thresholds():
    assert size_bin(np.array([0, 0, 31, 33])) == "small"  # 1023 < 32²
    assert size_bin(np.array([0, 0, 32, 32])) == "medium"
    assert size_bin(np.array([0, 0, 96, 96])) == "large"
