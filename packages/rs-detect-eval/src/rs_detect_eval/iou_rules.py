"""The three IoU rules of the mAP evaluation, and the candidate pairs each one compares.

| rule | polygons | candidate pairs | IoU |
|---|---|---|---|
| `devkit` | as given | axis-aligned boxes within 1 px (DOTA_devkit's +1 prefilter) | polyiou's, double for double |
| `mmrotate` | minimum-area rectangles | axis-aligned boxes overlapping | exact IoU of the rectangles |
| `valid` | bow-ties repaired to their convex hull | axis-aligned boxes overlapping | exact, in [0, 1]; zero area: 0 |

`devkit` takes polyiou's values wherever they can change a decision: a detection is routed to the exact port
(`polyiou.polyiou`) with all its candidate pairs when one of its quads or ground truths is not strictly convex or not
finite, or when its best fast IoU lies within a tolerance of the threshold, or within the tolerances of another
candidate's. Elsewhere the convex clipping path of `iou.py` stands in. The tolerance bounds |polyiou - IoU| for strictly
convex quads: (1e4 u R^2 + 1e-4 R / L) / A, with u the unit roundoff, R the largest |coordinate| of the pair, L its
shortest edge and A its smaller area. Its two terms cover the rounding of polyiou's origin-anchored triangles
(measured against the compiled C routine at most 26 u R^2 / A on millions of strictly convex pairs, sub-pixel to
100k px) and the effect of its 1e-8 tolerances (points within 1e-8 / L of a cut line); the largest deviation measured
was under 1 % of the bound. Where the bound reaches 1 (sub-pixel quads far from the origin, where polyiou can even
return inf) the detection always goes to the exact port. With it, a detection's best ground truth, whether it passes
the threshold and which ground truth it claims are those the devkit gets: a bound with margins, not a formal proof.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rs_detect_eval.iou import (
    hbb_overlap_pairs,
    min_area_rectangles,
    pair_ious,
    polygon_hbbs,
    shoelace,
    strictly_convex_ccw,
)
from rs_detect_eval.polyiou import polyiou

IouRule = Literal["devkit", "mmrotate", "valid"]
IOU_RULES: tuple[str, ...] = ("devkit", "mmrotate", "valid")
_ROUNDOFF = np.finfo(np.float64).eps / 2


def rule_polygons(polygons: np.ndarray, rule: IouRule) -> np.ndarray:
    """The polygons a rule compares: minimum-area rectangles for `mmrotate`, the polygons themselves otherwise."""
    return min_area_rectangles(polygons) if rule == "mmrotate" else polygons


def devkit_candidates(
    dets: np.ndarray, gts: np.ndarray, det_groups: np.ndarray, gt_groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(detection, ground truth) index pairs that DOTA_devkit's `voc_eval` hands to polyiou: same group, and
    `inters / uni > 0` for their axis-aligned boxes with the +1 pixel convention, in the devkit's own arithmetic."""
    det_box, gt_box = polygon_hbbs(dets), polygon_hbbs(gts)
    grow = np.array([0.0, 0.0, 2.0, 2.0])  # a superset for the index; the devkit's test below decides
    rows, cols = hbb_overlap_pairs(det_box + grow, gt_box + grow, det_groups, gt_groups)
    d, g = det_box[rows], gt_box[cols]
    width = np.maximum(np.minimum(g[:, 2], d[:, 2]) - np.maximum(g[:, 0], d[:, 0]) + 1.0, 0.0)
    height = np.maximum(np.minimum(g[:, 3], d[:, 3]) - np.maximum(g[:, 1], d[:, 1]) + 1.0, 0.0)
    inters = width * height
    uni = (
        (d[:, 2] - d[:, 0] + 1.0) * (d[:, 3] - d[:, 1] + 1.0)
        + (g[:, 2] - g[:, 0] + 1.0) * (g[:, 3] - g[:, 1] + 1.0)
        - inters
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = inters / uni > 0
    return rows[keep], cols[keep]


def _tolerance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bound on |polyiou - IoU| for pairs of strictly convex quads (K, 8); see the module docstring."""
    reach = np.maximum(np.abs(a).max(axis=1), np.abs(b).max(axis=1))
    points_a, points_b = a.reshape(-1, 4, 2), b.reshape(-1, 4, 2)
    edges = np.concatenate([np.roll(points_a, -1, 1) - points_a, np.roll(points_b, -1, 1) - points_b], axis=1)
    shortest = np.sqrt((edges**2).sum(axis=2)).min(axis=1)
    smaller = np.minimum(np.abs(shoelace(points_a)), np.abs(shoelace(points_b)))
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (1e4 * _ROUNDOFF * reach**2 + 1e-4 * reach / shortest) / smaller
    return np.where(np.isfinite(bound), bound, np.inf)


def _routed(det_rows: np.ndarray, fast: np.ndarray, tol: np.ndarray, iou_thr: float, num_dets: int) -> np.ndarray:
    """Detections whose decision the fast values cannot settle (see the module docstring)."""
    order = np.lexsort((-fast, det_rows))
    first = np.unique(det_rows[order], return_index=True)[1]
    top = order[first]
    top_value = np.full(num_dets, -np.inf)
    top_tol = np.zeros(num_dets)
    top_value[det_rows[top]], top_tol[det_rows[top]] = fast[top], tol[top]
    runner_up = np.full(num_dets, -np.inf)
    others = np.ones(len(fast), dtype=bool)
    others[top] = False
    np.maximum.at(runner_up, det_rows[others], (fast + tol)[others])
    with np.errstate(invalid="ignore"):  # inf - inf where a quad is not convex: routed anyway
        may_pass = top_value + top_tol >= iou_thr
        unsettled = (top_value - top_tol <= iou_thr) | (runner_up >= top_value - top_tol)
    return may_pass & unsettled


def devkit_ious(
    dets: np.ndarray, gts: np.ndarray, det_rows: np.ndarray, gt_rows: np.ndarray, iou_thr: float
) -> tuple[np.ndarray, int]:
    """IoU of each candidate pair as the devkit's decisions see it (polyiou with the ground truth first), and the
    number of pairs computed by the exact port."""
    convex_d, _ = strictly_convex_ccw(dets)
    convex_g, _ = strictly_convex_ccw(gts)
    both = convex_d[det_rows] & convex_g[gt_rows]
    ious = np.full(len(det_rows), np.nan)
    tol = np.full(len(det_rows), np.inf)
    fast = np.flatnonzero(both)
    box_d, box_g = polygon_hbbs(dets)[det_rows[fast]], polygon_hbbs(gts)[gt_rows[fast]]
    low, high = np.maximum(box_d[:, :2], box_g[:, :2]), np.minimum(box_d[:, 2:], box_g[:, 2:])
    touching = (high <= low).any(axis=1)  # convex quads whose boxes meet without area: IoU 0
    ious[fast[touching]] = 0.0
    overlapping = fast[~touching]
    ious[overlapping] = pair_ious(dets, gts, det_rows[overlapping], gt_rows[overlapping])
    tol[fast] = _tolerance(dets[det_rows[fast]], gts[gt_rows[fast]])
    exact = np.zeros(len(dets), dtype=bool)
    exact[det_rows[~both]] = True
    exact |= _routed(det_rows, np.where(both, ious, np.inf), tol, iou_thr, len(dets))
    pairs = np.flatnonzero(exact[det_rows])
    ious[pairs] = polyiou(gts[gt_rows[pairs]], dets[det_rows[pairs]])
    return ious, len(pairs)


def rule_ious(
    rule: IouRule, dets: np.ndarray, gts: np.ndarray, det_groups: np.ndarray, gt_groups: np.ndarray, iou_thr: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Candidate pairs (detection rows, ground-truth rows), their IoU under `rule`, and the pairs the exact devkit
    port computed. Polygons must already be those the rule compares (`rule_polygons`)."""
    if rule == "devkit":
        det_rows, gt_rows = devkit_candidates(dets, gts, det_groups, gt_groups)
        ious, exact = devkit_ious(dets, gts, det_rows, gt_rows, iou_thr)
        return det_rows, gt_rows, ious, exact
    det_rows, gt_rows = hbb_overlap_pairs(polygon_hbbs(dets), polygon_hbbs(gts), det_groups, gt_groups)
    return det_rows, gt_rows, pair_ious(dets, gts, det_rows, gt_rows), 0
