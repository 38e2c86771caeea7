"""Hand-computed mAP cases that separate the two conventions."""

import numpy as np
import pytest
from detect_eval_synthetic import BOX, shifted
from rs_detect_eval import ImageDet, ImageGT, evaluate_map


def test_tp_fp_tp_curve_both_ap_forms() -> None:
    gts = [ImageGT("a", np.stack([BOX, shifted(50)]), ["ship", "ship"])]
    dets = [ImageDet("a", np.stack([BOX, shifted(200), shifted(50)]), ["ship"] * 3, [0.9, 0.8, 0.7])]
    for convention in ("devkit", "mmrotate"):
        voc07 = evaluate_map(dets, gts, ["ship"], convention=convention, ap_mode="voc07")
        area = evaluate_map(dets, gts, ["ship"], convention=convention, ap_mode="area")
        # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
        assert voc07.map == pytest.approx((6 * 1 + 5 * 2 / 3) / 11, abs=1e-7)
        assert area.map == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-7)
        np.testing.assert_allclose(voc07.per_class["ship"].precision, [1, 0.5, 2 / 3], atol=1e-7)


def test_iou_exactly_at_threshold_is_a_match_only_for_mmrotate() -> None:
    gts = [ImageGT("a", np.array([[0, 0, 20, 0, 20, 10, 0, 10.0]]), ["ship"])]
    dets = [ImageDet("a", BOX[None], ["ship"], [0.9])]  # IoU = 100 / 200 = 0.5 exactly
    assert evaluate_map(dets, gts, ["ship"], convention="devkit").map == 0.0
    assert evaluate_map(dets, gts, ["ship"], convention="mmrotate").map == pytest.approx(1.0)


def test_difficult_objects_per_convention() -> None:
    gts = [ImageGT("a", np.stack([BOX, shifted(50)]), ["ship", "ship"], [False, True])]
    dets = [ImageDet("a", np.stack([shifted(50), BOX]), ["ship", "ship"], [0.9, 0.8])]
    devkit = evaluate_map(dets, gts, ["ship"], convention="devkit")
    assert devkit.per_class["ship"].num_gt == 1 and devkit.map == pytest.approx(1.0)  # the difficult hit is ignored
    ordinary = evaluate_map(dets, gts, ["ship"], convention="mmrotate")
    assert ordinary.per_class["ship"].num_gt == 2 and ordinary.map == pytest.approx(1.0, abs=1e-6)
    ignored = evaluate_map(dets, gts, ["ship"], convention="mmrotate", difficult_as_ignore=True)
    assert ignored.per_class["ship"].num_gt == 1 and ignored.map == pytest.approx(1.0)


def test_duplicates_classes_without_gt_and_images_without_detections() -> None:
    gts = [ImageGT("a", BOX[None], ["ship"]), ImageGT("b", BOX[None], ["ship"])]
    dets = [ImageDet("a", np.stack([BOX, BOX, BOX]), ["ship", "ship", "plane"], [0.9, 0.8, 0.7])]
    devkit = evaluate_map(dets, gts, ["ship", "plane"], convention="devkit", ap_mode="area")
    # ship: TP then duplicate FP; recall 1/2 at precision 1 -> AP 0.5; plane has no ground truth -> AP 0
    assert devkit.per_class["ship"].ap == pytest.approx(0.5)
    assert devkit.per_class["plane"].ap == 0.0 and devkit.per_class["plane"].num_det == 1
    assert devkit.map == pytest.approx(0.25)  # the devkit averages over every class
    mmrotate = evaluate_map(dets, gts, ["ship", "plane"], convention="mmrotate", ap_mode="area")
    assert mmrotate.map == pytest.approx(0.5)  # mmrotate averages over classes with ground truth
    assert mmrotate.to_dict()["per_class"]["plane"] == {"ap": 0.0, "num_gt": 0, "num_det": 1}


def test_tie_orders() -> None:
    gts = [ImageGT("a", np.stack([BOX, shifted(50)]), ["ship", "ship"])]
    dets = [ImageDet("a", np.stack([shifted(300), BOX, shifted(50)]), ["ship"] * 3, [1.0, 1.0, 1.0])]
    stable = evaluate_map(dets, gts, ["ship"], ap_mode="area", tie_order="input")
    assert stable.map == pytest.approx(2 / 3)  # FP first, then two TPs: precision 0, 1/2, 2/3
    seeded = {evaluate_map(dets, gts, ["ship"], ap_mode="area", tie_order=seed).map for seed in range(20)}
    assert len(seeded) > 1 and max(seeded) == pytest.approx(1.0)


def test_bad_arguments() -> None:
    gts = [ImageGT("a", BOX[None], ["ship"])]
    with pytest.raises(ValueError, match="without ground truth"):
        evaluate_map([ImageDet("zzz", BOX[None], ["ship"])], gts, ["ship"])
    with pytest.raises(ValueError, match="convention"):
        evaluate_map([], gts, ["ship"], convention="voc")
    with pytest.raises(ValueError, match="iou_thr"):
        evaluate_map([], gts, ["ship"], iou_thr=0.0)
    result = evaluate_map([ImageDet("a", BOX[None], ["whale"])], gts, ["ship"])
    assert result.unknown_labels == {"whale": 1} and result.map == 0.0


def test_eleven_point_recall_thresholds_are_numpy_arange_values() -> None:
    # 10 objects; ranked: 3 hits, 2 misses, 7 hits. Recall 3/10 = 0.3 lies below the 4th threshold 0.1 * 3
    # (0.30000000000000004), so the best precision counted there is the one beyond it (10/12), not 1. Both references
    # compare in float64 (mmrotate's float32 true-positive sums become float64 over the integer object count).
    gts = [ImageGT("a", np.stack([shifted(20 * i) for i in range(10)]), ["ship"] * 10)]
    order = [0, 1, 2, None, None, 3, 4, 5, 6, 7, 8, 9]
    polygons = np.stack([shifted(20 * i) if i is not None else shifted(1000 + 20 * k) for k, i in enumerate(order)])
    dets = [ImageDet("a", polygons, ["ship"] * 12, np.linspace(0.95, 0.4, 12))]
    devkit = evaluate_map(dets, gts, ["ship"], convention="devkit", ap_mode="voc07")
    assert devkit.map == pytest.approx((3 * 1 + 8 * 10 / 12) / 11, abs=1e-12)
    mmrotate = evaluate_map(dets, gts, ["ship"], convention="mmrotate", ap_mode="voc07")
    assert mmrotate.map == pytest.approx((3 * 1 + 8 * 10 / 12) / 11, abs=1e-6)  # float32 AP


def test_devkit_tie_order_is_numpy_default_argsort() -> None:
    # 60 detections with three distinct scores: the devkit ranks them by numpy's default (unstable) argsort of the
    # negated scores, so listing them in that order first and ranking stably must give the same AP
    rng = np.random.default_rng(5)
    gts = [ImageGT("a", np.stack([shifted(20 * i) for i in range(30)]), ["ship"] * 30)]
    hits = rng.permutation(60) < 30
    polygons = np.stack([shifted(20 * (k % 30) + (0 if hit else 5000)) for k, hit in enumerate(hits)])
    scores = rng.choice([0.3, 0.6, 0.9], 60)
    order = np.argsort(-scores)
    presorted = [ImageDet("a", polygons[order], ["ship"] * 60, scores[order])]
    dets = [ImageDet("a", polygons, ["ship"] * 60, scores)]
    for ap_mode in ("voc07", "area"):
        result = evaluate_map(dets, gts, ["ship"], convention="devkit", ap_mode=ap_mode)
        assert result.map == evaluate_map(presorted, gts, ["ship"], ap_mode=ap_mode, tie_order="input").map
    assert not np.array_equal(order, np.argsort(-scores, kind="stable"))
    stable = evaluate_map(dets, gts, ["ship"], convention="devkit", ap_mode="area", tie_order="input")
    assert stable.map != result.map
