"""The devkit IoU rule against DOTA_devkit polyiou's own outputs (tests/data/polyiou_pairs.json), bit for bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from detect_eval_synthetic import synthetic_detections
from rs_detect_eval import CLASS_SETS
from rs_detect_eval.iou_rules import devkit_candidates, devkit_ious
from rs_detect_eval.polyiou import polyiou, polyiou_parts
from rs_resolution import obb_to_poly

PAIRS = json.loads((Path(__file__).parent / "data" / "polyiou_pairs.json").read_text())["pairs"]


def _hex(value: float) -> str:
    return "nan" if math.isnan(value) else float(value).hex()


def _expected_hex(pair: dict, key: str) -> str:
    text = pair[f"{key}_hex"]
    return "nan" if text == "nan" else float.fromhex(text).hex()


def test_every_reference_pair_bit_for_bit() -> None:
    p = np.array([pair["p"] for pair in PAIRS])
    q = np.array([pair["q"] for pair in PAIRS])
    ious = polyiou(p, q)
    inter, area_p, area_q = polyiou_parts(p, q)
    assert len(PAIRS) == 109
    for k, pair in enumerate(PAIRS):
        assert _hex(ious[k]) == _expected_hex(pair, "iou"), (pair["id"], pair["case"])
        assert _hex(inter[k]) == _expected_hex(pair, "inter"), pair["id"]
        assert _hex(area_p[k]) == _expected_hex(pair, "area_p"), pair["id"]
        assert _hex(area_q[k]) == _expected_hex(pair, "area_q"), pair["id"]
    # the table holds the quirks the rule must keep: values beyond [0, 1], NaN, and exact halves decided by rounding
    assert (ious > 1).any() and (ious < 0).any() and np.isnan(ious).sum() == 2
    halves = [k for k, pair in enumerate(PAIRS) if pair["case"].startswith("exact_half")]
    assert {bool(ious[k] > 0.5) for k in halves} == {True, False}


def test_argument_order_matters_for_bow_ties() -> None:
    by_case = {pair["case"]: pair for pair in PAIRS}
    bow_tie, hull = by_case["special:bowtie_unequal_vs_hull"]["p"], by_case["special:bowtie_unequal_vs_hull"]["q"]
    # both orders equal 0.42857142857142855 = 30 / 70 here, but a zero-area bow-tie flips sign with its vertex order
    assert polyiou([bow_tie], [hull])[0] == polyiou([hull], [bow_tie])[0] == 30 / 70
    left_half = by_case["special:zero_area_bowtie_vs_left_half"]
    reversed_ = by_case["special:zero_area_bowtie_reversed_vs_left_half"]
    assert polyiou([left_half["p"]], [left_half["q"]])[0] > 1 and polyiou([reversed_["p"]], [reversed_["q"]])[0] < 0


def test_shapes_are_checked_and_empty_input_works() -> None:
    with pytest.raises(ValueError, match="aligned"):
        polyiou(np.zeros((2, 8)), np.zeros((3, 8)))
    assert polyiou(np.zeros((0, 8)), np.zeros((0, 8))).shape == (0,)


def _decisions(det_rows: np.ndarray, gt_rows: np.ndarray, ious: np.ndarray, count: int, thr: float) -> list:
    """Per detection: the devkit's `np.max` / `np.argmax` over its candidates, reduced to what the metric uses."""
    out = []
    for det in range(count):
        mine = np.flatnonzero(det_rows == det)
        values = ious[mine]
        if len(mine) == 0 or np.isnan(values).any() or not values.max() > thr:
            out.append(None)
        else:
            out.append(int(gt_rows[mine[np.argmax(values)]]))
    return out


@pytest.mark.parametrize("thr", [0.5, 0.7])
def test_fast_path_never_changes_a_devkit_decision(dota_gts, thr: float) -> None:
    """On real labels with jittered, integer-rounded, vertex-shuffled (bow-tie) and exact-half detections, the routed
    IoUs lead every detection to the ground truth polyiou itself leads it to."""
    gt = np.concatenate([g.polygons for g in dota_gts])
    gt_image = np.concatenate([np.full(len(g.labels), i) for i, g in enumerate(dota_gts)])
    dets = synthetic_detections(dota_gts, CLASS_SETS["dota1.0"], seed=11, per_gt=3.0)
    det = np.concatenate([d.polygons for d in dets])
    det_image = np.concatenate([np.full(len(d.labels), i) for i, d in enumerate(dets)])
    rng = np.random.default_rng(0)
    rounded = rng.random(len(det)) < 0.5
    det[rounded] = np.round(det[rounded])
    shuffled = rng.random(len(det)) < 0.1
    det[shuffled] = det[shuffled].reshape(-1, 4, 2)[:, [0, 2, 1, 3]].reshape(-1, 8)
    # ground truth moved by a third of its x extent: IoU exactly 1/2 where the box is axis-aligned
    boxes = gt[:40].reshape(-1, 4, 2)
    span = boxes[..., 0].max(1) - boxes[..., 0].min(1)
    det = np.concatenate([det, gt[:40] + np.repeat(np.c_[span / 3, 0 * span], 4, axis=0).reshape(-1, 8)])
    det_image = np.concatenate([det_image, gt_image[:40]])
    # a detection exactly midway between two ground truths far from the origin: true IoUs tie, roundings decide
    centre = rng.uniform(5000, 20000, (60, 2))
    twins = obb_to_poly(np.c_[centre, rng.uniform(20, 80, (60, 2)), rng.uniform(-90, 90, 60)])
    step = np.tile(rng.uniform(-3, 3, (60, 2)), 4)
    images = len(dota_gts) + np.arange(60)
    gt = np.concatenate([gt, twins, twins + step])
    gt_image = np.concatenate([gt_image, images, images])
    det = np.concatenate([det, twins + step / 2])
    det_image = np.concatenate([det_image, images])
    det_rows, gt_rows = devkit_candidates(det, gt, det_image, gt_image)
    routed, exact = devkit_ious(det, gt, det_rows, gt_rows, thr)
    full = polyiou(gt[gt_rows], det[det_rows])
    expected = _decisions(det_rows, gt_rows, full, len(det), thr)
    assert _decisions(det_rows, gt_rows, routed, len(det), thr) == expected
    assert 0 < exact < len(det_rows) // 2  # the exact port took the unsettled pairs, not all of them
    assert sum(e is not None for e in expected) > len(det) // 4 and expected.count(None) > 50
