import numpy as np
import pytest
from detect_eval_synthetic import BOX, shifted, synthetic_detections
from rs_detect_eval import (
    CLASS_SETS,
    ImageDet,
    ImageGT,
    best_mf1,
    confusion_matrix,
    evaluate_map,
    evaluate_map_nc,
    evaluate_mf1,
    without_scores,
)

CLASSES = CLASS_SETS["dota1.0"]


def test_unscored_answers_are_ranked_in_input_order(dota_gts) -> None:
    dets = without_scores(synthetic_detections(dota_gts, CLASSES, seed=3))
    result = evaluate_map_nc(dets, dota_gts, CLASSES, tie_seeds=5)
    assert result.threshold is None
    assert result.map == evaluate_map(dets, dota_gts, CLASSES, tie_order="input").map
    assert len(result.tie_maps) == 5 and result.map_std > 0
    assert min(result.tie_maps) <= result.map_mean <= max(result.tie_maps)
    summary = result.to_dict()
    assert summary["map"] == result.map and summary["random_tie_orders"] == 5 and "per_class" in summary


def test_threshold_chosen_on_validation_then_applied(dota_gts) -> None:
    gts = [ImageGT("a", np.stack([BOX, shifted(50)]), ["ship", "ship"])]
    # the low-scored boxes are all false positives ranked (by input order) before the true ones
    dets = [ImageDet("a", np.stack([shifted(300), shifted(400), BOX, shifted(50)]), ["ship"] * 4, [0.2, 0.3, 0.9, 0.8])]
    result = evaluate_map_nc(dets, gts, ["ship"], val=(dets, gts), tie_seeds=0)
    assert result.threshold == 0.3 and result.map == pytest.approx(1.0)
    assert result.threshold_maps[0.0] < 1.0 and result.threshold_maps[0.3] == pytest.approx(1.0)
    assert result.result.per_class["ship"].num_det == 2
    fixed = evaluate_map_nc(dets, gts, ["ship"], threshold=0.25, tie_seeds=0)
    assert fixed.result.per_class["ship"].num_det == 3
    with pytest.raises(ValueError, match="threshold or a validation set"):
        evaluate_map_nc(dets, gts, ["ship"])


def test_mf1_hand_computed() -> None:
    gts = [ImageGT("a", np.stack([BOX, shifted(50)]), ["ship", "plane"])]
    # a hit on the ship, the plane called a ship, and a plane in empty space
    dets = [ImageDet("a", np.stack([BOX, shifted(50), shifted(300)]), ["ship", "ship", "plane"], [0.9, 0.8, 0.7])]
    matrix = confusion_matrix(dets, gts, ["ship", "plane"])
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [1, 0, 1], [0, 1, 0]])
    result = evaluate_mf1(dets, gts, ["ship", "plane"])
    # precision per index (ship, plane, background) = 1/2, 0, 0; recall = 1, 0, 0
    assert result.precision == pytest.approx(1 / 6) and result.recall == pytest.approx(1 / 3)
    assert result.f1 == pytest.approx(2 / 9)
    assert result.per_class["ship"] == {"precision": 0.5, "recall": 1.0}


def test_mf1_counts_a_detection_for_every_overlapping_object_and_skips_difficult() -> None:
    wide = np.array([0, 0, 20, 0, 20, 10, 0, 10], dtype=float)
    gts = [ImageGT("a", np.stack([BOX, shifted(10), shifted(100)]), ["ship"] * 3, [False, False, True])]
    dets = [ImageDet("a", np.stack([wide, shifted(100)]), ["ship", "ship"])]
    matrix = confusion_matrix(dets, gts, ["ship"], iou_thr=0.5)
    # the wide box covers both halves with IoU exactly 0.5 (counted twice); the difficult object is set aside, so the
    # box on it is a background false positive
    np.testing.assert_array_equal(matrix, [[2, 0], [1, 0]])


def test_best_mf1_sweeps_score_thresholds(dota_gts) -> None:
    dets = synthetic_detections(dota_gts, CLASSES, seed=4)
    best = best_mf1(dets, dota_gts, CLASSES)
    assert set(best.sweep) == {round(0.1 * i, 1) for i in range(10)}
    assert best.f1 == max(best.sweep.values()) and best.sweep[best.score_thr] == best.f1
    assert 0 < best.f1 < 1
