"""mF1 as LMMRotate defines it, from a (C+1) x (C+1) confusion matrix with a background row and column.

Per image, every detection with score >= the score threshold is compared with every ground-truth object (any class):
each object it overlaps with IoU >= 0.5 adds one to cell [object class, detection class]; a detection overlapping none
adds one to [background, detection class]; an object that no detection of its own class overlaps adds one to
[object class, background]. Per index i of the C+1: precision = M[i,i] / column sum, recall = M[i,i] / row sum (a zero
denominator counts as 1, so background's precision and recall are 0); mP and mR are the means over all C+1 indices
(so neither exceeds C / (C+1)), and mF1 = 2 mP mR / (mP + mR). Like LMMRotate (mmrotate 1.x pipelines set difficult
objects aside), difficult ground truth is left out, and boxes are compared as their minimum-area rectangles. The number
of classes is `len(classes)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from rs_detect_eval.classes import normalize_class
from rs_detect_eval.iou import hbb_overlap_pairs, min_area_rectangles, paired_iou, polygon_geometries, polygon_hbbs
from rs_detect_eval.records import ImageDet, ImageGT

DEFAULT_SCORE_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))


@dataclass
class F1Result:
    """mF1 with its mean precision and recall, per-class values, the confusion matrix and the score threshold."""

    f1: float
    precision: float
    recall: float
    score_thr: float
    per_class: dict[str, dict[str, float]]
    confusion: np.ndarray
    sweep: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
            "score_thr": self.score_thr,
            "per_class": self.per_class,
            "sweep": {str(t): f for t, f in self.sweep.items()},
        }


def _arrays(items: Sequence, image_index: dict[str, int], class_index: dict[str, int]) -> tuple[np.ndarray, ...]:
    images, classes, polygons, extra = [], [], [], []
    for item in items:
        if item.image_id not in image_index:
            raise ValueError(f"detections for image {item.image_id!r}, which has no ground truth")
        ids = np.array([class_index.get(normalize_class(label), -1) for label in item.labels], dtype=np.int64)
        keep = ids >= 0
        if isinstance(item, ImageGT):
            keep &= ~item.difficult
        images.append(np.full(int(keep.sum()), image_index[item.image_id]))
        classes.append(ids[keep])
        polygons.append(item.polygons[keep])
        extra.append(item.scores[keep] if isinstance(item, ImageDet) else np.zeros(int(keep.sum())))
    if not images:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0)
    return np.concatenate(images), np.concatenate(classes), np.concatenate(polygons), np.concatenate(extra)


def confusion_matrix(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    score_thr: float = 0.0,
) -> np.ndarray:
    """The (C+1) x (C+1) matrix described in the module docstring; rows are ground truth, columns detections."""
    image_index = {gt.image_id: i for i, gt in enumerate(gts)}
    class_index = {normalize_class(name): i for i, name in enumerate(classes)}
    gt_image, gt_cls, gt_poly, _ = _arrays(gts, image_index, class_index)
    det_image, det_cls, det_poly, det_score = _arrays(dets, image_index, class_index)
    keep = det_score >= score_thr
    det_image, det_cls, det_poly = det_image[keep], det_cls[keep], det_poly[keep]
    gt_poly, det_poly = min_area_rectangles(gt_poly), min_area_rectangles(det_poly)
    rows, cols = hbb_overlap_pairs(polygon_hbbs(det_poly), polygon_hbbs(gt_poly), det_image, gt_image)
    det_geoms, gt_geoms = polygon_geometries(det_poly), polygon_geometries(gt_poly)
    ious = paired_iou(det_geoms[rows], gt_geoms[cols], shapely.area(det_geoms)[rows], shapely.area(gt_geoms)[cols])
    hit = ious >= iou_thr
    rows, cols = rows[hit], cols[hit]
    background = len(classes)
    matrix = np.zeros((background + 1, background + 1), dtype=np.int64)
    np.add.at(matrix, (gt_cls[cols], det_cls[rows]), 1)
    unmatched = np.ones(len(det_cls), dtype=bool)
    unmatched[rows] = False
    np.add.at(matrix, (background, det_cls[unmatched]), 1)
    found = np.zeros(len(gt_cls), dtype=bool)
    found[cols[gt_cls[cols] == det_cls[rows]]] = True
    np.add.at(matrix, (gt_cls[~found], background), 1)
    return matrix


def _safe(values: np.ndarray) -> np.ndarray:
    return np.where(values == 0, 1, values)


def evaluate_mf1(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    score_thr: float = 0.0,
) -> F1Result:
    """mF1 at one score threshold (all detections for an unscored model)."""
    matrix = confusion_matrix(dets, gts, classes, iou_thr, score_thr)
    tp = np.diag(matrix).astype(np.float64)
    precision = tp / _safe(matrix.sum(axis=0))
    recall = tp / _safe(matrix.sum(axis=1))
    mean_p, mean_r = float(precision.mean()), float(recall.mean())
    f1 = 2 * mean_p * mean_r / (mean_p + mean_r) if mean_p + mean_r > 0 else 0.0
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i])} for i, name in enumerate(classes)}
    return F1Result(f1, mean_p, mean_r, score_thr, per_class, matrix)


def best_mf1(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    thresholds: Sequence[float] = DEFAULT_SCORE_THRESHOLDS,
) -> F1Result:
    """mF1 of a scored detector at its best score threshold (the smallest on ties), with the whole sweep."""
    results = {t: evaluate_mf1(dets, gts, classes, iou_thr, t) for t in thresholds}
    best = max(results.values(), key=lambda r: r.f1)
    best.sweep = {t: r.f1 for t, r in results.items()}
    return best
