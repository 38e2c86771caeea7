"""AP worked out on paper from polyiou's own IoUs (tests/data/polyiou_pairs.json): bow-ties, NaN and exact halves.

Each image holds one pair of the reference table: its `p` as the only ground truth (polyiou's first argument, as in
the devkit) and its `q` as the only detection, so the IoU the devkit sees is the table's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rs_detect_eval import ImageDet, ImageGT, evaluate_map, markdown_table

PAIRS = {
    pair["id"]: pair
    for pair in json.loads((Path(__file__).parent / "data" / "polyiou_pairs.json").read_text())["pairs"]
}


def _images(ids_and_scores: list[tuple[int, float]]) -> tuple[list[ImageGT], list[ImageDet]]:
    gts = [ImageGT(f"img{pair}", [PAIRS[pair]["p"]], ["ship"]) for pair, _ in ids_and_scores]
    dets = [ImageDet(f"img{pair}", [PAIRS[pair]["q"]], ["ship"], [score]) for pair, score in ids_and_scores]
    return gts, dets


def test_exact_halves_bow_tie_and_nan_under_devkit() -> None:
    # pair (score): polyiou IoU from the table -> devkit decision (IoU > 0.5)
    # 201 (0.9): 0.5000000000000704, true IoU exactly 1/2 -> TP
    # 202 (0.8): 0.4999999999999508, true IoU exactly 1/2 -> FP
    # 16  (0.7): a bow-tie against itself, 2.2307692307692313 -> TP
    # 214 (0.6): a zero-area bow-tie against a rectangle, -0.33333333333333337 -> FP
    # 9   (0.5): a collinear quad against itself, NaN (0 / 0) -> FP
    gts, dets = _images([(201, 0.9), (202, 0.8), (16, 0.7), (214, 0.6), (9, 0.5)])
    # npos = 5 (every ground truth counts, the collinear one too); ranked TP FP TP FP FP:
    # recall 1/5 1/5 2/5 2/5 2/5, precision 1 1/2 2/3 1/2 2/5
    # 11-point: t = 0, 0.1, 0.2 -> 1; t = 0.3, 0.4 -> 2/3 (0.4 == 2/5 in floats); t >= 0.5 -> 0
    #   AP = (3 + 2 * 2/3) / 11 = 13/33
    # all-point: recall steps 0 -> 1/5 at envelope 1, 1/5 -> 2/5 at 2/3, then nothing: AP = 1/5 + 2/15 = 1/3
    voc07 = evaluate_map(dets, gts, ["ship"], convention="devkit", ap_mode="voc07")
    area = evaluate_map(dets, gts, ["ship"], convention="devkit", ap_mode="area")
    assert voc07.map == pytest.approx(13 / 33, abs=1e-15)
    assert area.map == pytest.approx(1 / 3, abs=1e-15)
    np.testing.assert_allclose(voc07.per_class["ship"].precision, [1, 1 / 2, 2 / 3, 1 / 2, 2 / 5], rtol=0, atol=1e-15)
    # 214's q crosses itself with signed area 0 but a 10 x 10 hull: a bow-tie, not degenerate
    assert voc07.defects["detections"] == {"bow_tie": 2, "degenerate": 1, "non_finite": 0}
    assert voc07.defects["ground_truth"] == {"bow_tie": 1, "degenerate": 1, "non_finite": 0}


def test_devkit_and_valid_part_on_bow_ties() -> None:
    # 16  (0.7): bow-tie vs itself: devkit 2.2307692307692313 -> TP; valid: its hull vs its hull, 1 -> TP
    # 214 (0.6): devkit -0.33333333333333337 -> FP; valid: the 5 x 10 rectangle in the 10 x 10 hull, 50 / 100 -> FP
    # 213 (0.4): the same bow-tie in the other vertex order: devkit 1.0000000000000002 -> TP; valid 1/2 again -> FP
    gts, dets = _images([(16, 0.7), (214, 0.6), (213, 0.4)])
    # devkit, npos 3: TP FP TP, recall 1/3 1/3 2/3, precision 1 1/2 2/3
    #   11-point: t = 0 .. 0.3 (0.30000000000000004 < 1/3) -> 1; t = 0.4, 0.5, 0.6 (0.6000000000000001 < 2/3) -> 2/3;
    #   AP = (4 + 3 * 2/3) / 11 = 6/11
    # valid: TP FP FP, recall 1/3 throughout, precision 1 1/2 1/3: AP = 4/11
    devkit = evaluate_map(dets, gts, ["ship"], convention="devkit")
    valid = evaluate_map(dets, gts, ["ship"], convention="valid")
    assert devkit.map == pytest.approx(6 / 11, abs=1e-15)
    assert valid.map == pytest.approx(4 / 11, abs=1e-15)
    assert devkit.exact_pairs == 3 and valid.exact_pairs == 0
    table = markdown_table(devkit)
    assert "IoU rule: devkit" in table and "detections: 3 bow-tie, 0 degenerate, 0 non-finite" in table


def test_exact_halves_under_the_other_rules() -> None:
    # 205 and 206: integer rectangles with true IoU exactly 1/2, and polyiou lands on 0.5 exactly -> FP for devkit;
    # mmrotate matches at IoU >= 0.5 -> TP TP: AP 1; devkit FP FP: AP 0
    gts, dets = _images([(205, 0.9), (206, 0.8)])
    assert evaluate_map(dets, gts, ["ship"], convention="devkit").map == 0.0
    assert evaluate_map(dets, gts, ["ship"], convention="mmrotate").map == pytest.approx(1.0)


def test_non_finite_detections_are_false_positives_and_counted() -> None:
    # the devkit's prefilter gives inters / uni = 0 (an infinite union) or NaN for such a box: no candidate, so a FP;
    # ranked FP then TP with npos 1: precision 0 then 1/2 at recall 1 -> all-point AP 1/2
    box = [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]
    broken = [0.0, 0.0, np.inf, 0.0, 10.0, 10.0, 0.0, np.nan]
    gts = [ImageGT("a", [box], ["ship"])]
    dets = [ImageDet("a", [broken, box], ["ship", "ship"], [0.9, 0.8])]
    for convention in ("devkit", "valid"):
        result = evaluate_map(dets, gts, ["ship"], convention=convention, ap_mode="area")
        assert result.map == pytest.approx(0.5, abs=1e-15), convention
        assert result.defects["detections"]["non_finite"] == 1
