import numpy as np
import pytest
from detect_eval_lmmrotate_reference import lmmrotate_mf1
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


def test_mf1_counts_a_detection_for_every_overlapping_object_and_difficult_ones() -> None:
    wide = np.array([0, 0, 20, 0, 20, 10, 0, 10], dtype=float)
    gts = [ImageGT("a", np.stack([BOX, shifted(10), shifted(100)]), ["ship"] * 3, [False, False, True])]
    dets = [ImageDet("a", np.stack([wide, shifted(100)]), ["ship", "ship"])]
    # the wide box covers both halves with IoU exactly 0.5 (>=, counted twice); difficult objects are ordinary
    result = evaluate_mf1(dets, gts, ["ship"], iou_thr=0.5)
    np.testing.assert_array_equal(result.confusion, [[3, 0], [0, 0]])
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)


def test_mf1_classes_end_at_the_last_class_with_ground_truth() -> None:
    plane_only = [ImageGT("a", np.stack([BOX]), ["plane"])]
    perfect = [ImageDet("a", np.stack([BOX]), ["plane"])]
    result = evaluate_mf1(perfect, plane_only, CLASSES)
    # one class plus the background, whose precision and recall are 0: a perfect answer scores 0.5
    assert result.num_classes == 1 and list(result.per_class) == ["plane"]
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)
    ship_only = [ImageGT("a", np.stack([BOX]), ["ship"])]
    result = evaluate_mf1([ImageDet("a", np.stack([BOX]), ["ship"])], ship_only, CLASSES)
    # ship is the 7th DOTA class: the six before it (no ground truth) and the background count 0 in both means
    assert result.num_classes == 7 and result.f1 == pytest.approx(1 / 8)
    extra = [ImageDet("a", np.stack([BOX, shifted(50), shifted(90)]), ["plane", "ship", "whale"])]
    result = evaluate_mf1(extra, plane_only, CLASSES)
    assert result.f1 == 0.5 and result.left_out == {
        "class after the last class with ground truth": 1,
        "label not in the class list": 1,
    }


def _three_class_case() -> tuple[list[ImageDet], list[ImageGT]]:
    gts = [
        ImageGT("a", np.stack([BOX, shifted(100)]), ["plane", "harbor"], [False, True]),
        ImageGT("b", np.stack([BOX]), ["plane"]),
    ]
    dets = [ImageDet("a", np.stack([BOX, shifted(300), shifted(100)]), ["plane", "plane", "harbor"], [0.9, 0.2, 0.5])]
    return dets, gts


def test_mf1_hand_computed_over_images_thresholds_and_an_empty_class() -> None:
    dets, gts = _three_class_case()
    classes = ["plane", "ship", "harbor"]
    result = evaluate_mf1(dets, gts, classes)
    # plane: a hit, a miss in empty space, an object of image b without detections; ship: nothing at all
    np.testing.assert_array_equal(result.confusion, [[1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    assert (result.precision, result.recall, result.f1) == (0.375, 0.375, 0.375)
    assert result.per_class["ship"] == {"precision": 0.0, "recall": 0.0}
    best = best_mf1(dets, gts, classes, thresholds=(0.0, 0.3, 0.6))
    # 0.3 drops the miss (mP 2/4, mR 1.5/4); 0.6 also drops the harbor hit (mP 1/4, mR 0.5/4)
    assert best.score_thr == 0.3 and best.f1 == pytest.approx(3 / 7)
    assert best.sweep == pytest.approx({0.0: 0.375, 0.3: 3 / 7, 0.6: 1 / 6})
    # scores meet the threshold in float32, as torch compares them: 0.3 - 1e-10 passes 0.3
    dets[0].scores[1] = 0.3 - 1e-10
    assert evaluate_mf1(dets, gts, classes, score_thr=0.3).f1 == 0.375


def test_best_mf1_sweeps_score_thresholds(dota_gts) -> None:
    dets = synthetic_detections(dota_gts, CLASSES, seed=4)
    best = best_mf1(dets, dota_gts, CLASSES)
    assert set(best.sweep) == {round(0.1 * i, 1) for i in range(10)}
    assert best.f1 == max(best.sweep.values()) and best.sweep[best.score_thr] == best.f1
    assert 0 < best.f1 < 1


@pytest.mark.parametrize("score_thr", [0.0, 0.5])
def test_mf1_matches_lmmrotate_procedure_on_real_labels(dota_gts, score_thr: float) -> None:
    rng = np.random.default_rng(7)
    gts = [ImageGT(g.image_id, g.polygons, g.labels, rng.random(len(g.labels)) < 0.15) for g in dota_gts]
    dets = {d.image_id: d for d in synthetic_detections(gts, CLASSES, seed=7)}
    index = {name: i for i, name in enumerate(CLASSES)}
    images = [
        (
            g.polygons,
            np.array([index[n] for n in g.labels], dtype=int),
            d.polygons,
            np.array([index[n] for n in d.labels]),
            d.scores,
        )
        for g, d in ((g, dets[g.image_id]) for g in gts)
    ]
    # the reference fails on detections of a class after the last one with ground truth: ours leaves them out
    last = max(int(gl.max()) for _, gl, *_ in images if len(gl)) + 1
    images = [(gp, gl, dp[dl < last], dl[dl < last], ds[dl < last]) for gp, gl, dp, dl, ds in images]
    matrix, mean_p, mean_r, f1 = lmmrotate_mf1(images, score_thr)
    result = evaluate_mf1(list(dets.values()), gts, CLASSES, score_thr=score_thr)
    np.testing.assert_array_equal(result.confusion, matrix)
    assert result.precision == pytest.approx(mean_p, abs=1e-12) and result.recall == pytest.approx(mean_r, abs=1e-12)
    assert result.f1 == pytest.approx(f1, abs=1e-12) and 0.1 < result.f1 < 0.9
    assert np.trace(matrix) > 0 and matrix[-1].sum() > 0 and matrix[:, -1].sum() > 0  # hits, misses, false alarms


def test_mf1_rejects_an_image_given_twice_or_unknown() -> None:
    gts = [ImageGT("a", BOX[None], ["ship"])]
    with pytest.raises(ValueError, match="given twice"):
        evaluate_mf1([], gts * 2, ["ship"])
    with pytest.raises(ValueError, match="without ground truth"):
        evaluate_mf1([ImageDet("b", BOX[None], ["ship"])], gts, ["ship"])
