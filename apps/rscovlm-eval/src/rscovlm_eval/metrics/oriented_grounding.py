"""Oriented visual grounding (GeoGround's OBB test sets): the polygon IoU of the predicted and the annotated box.

GeoGround (Zhou et al., 2024, "GeoGround: A Unified Large Vision-Language Model for Remote Sensing Visual
Grounding") scores OBB grounding as HBB grounding is scored, Acc@0.5, with the IoU of the oriented boxes; the
rule here is upstream RSCoVLM's for grounding, IoU > 0.5 (strictly). The IoU is rs-detect-eval's polygon IoU in
original pixels; a missing box scores 0. Size bins use the polygon's area with the COCO thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rs_detect_eval import poly_iou_matrix
from rscovlm_eval.metrics.grounding import GroundingResult, area_bin, grounding_summary


def polygon_area(polygon: np.ndarray) -> float:
    """Shoelace area of a 4-point polygon (8 numbers)."""
    xs, ys = polygon[0::2], polygon[1::2]
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)


def evaluate_oriented_grounding(
    predictions: Sequence[np.ndarray | None], targets: Sequence[np.ndarray], threshold: float = 0.5
) -> GroundingResult:
    """Score predicted polygons (None when the answer held no box) against ground-truth polygons."""
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    ious = [
        0.0 if p is None else float(poly_iou_matrix(np.asarray(p, float), np.asarray(t, float))[0, 0])
        for p, t in zip(predictions, targets, strict=True)
    ]
    bins = [area_bin(polygon_area(np.asarray(t, float))) for t in targets]
    return grounding_summary(ious, bins, sum(p is None for p in predictions), threshold, iou="polygon")
