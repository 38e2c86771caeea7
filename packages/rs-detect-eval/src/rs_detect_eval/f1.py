"""mF1 exactly as LMMRotate computes it (`lmmrotate/modules/f1_metric.py`): a confusion matrix with a background row
and column, over the classes up to the last one that has ground truth.

Classes: n = 1 + the highest index (position in `classes`) of a class with a ground-truth object in any image, as
LMMRotate's `get_num_classes`; classes after it are not evaluated, classes before it are, with or without ground truth.
The matrix is (n+1) x (n+1), rows ground truth, columns detections, index n the background.

Counting, image by image: every detection with score >= the score threshold (compared in float32, as torch compares a
float32 score with a Python float) is compared with every ground-truth object of the image, of any class, by the IoU of
their minimum-area rectangles (LMMRotate hands mmrotate 1.x `rbbox_overlaps` rotated boxes). For every object with
IoU >= the IoU threshold (IoU and threshold in float32) it adds 1 to [object class, detection class], so one detection
counts once per object it overlaps; a detection overlapping none adds 1 to [background, detection class]. Then every
object that no detection of its own class overlaps adds 1 to [object class, background]. Difficult objects are
ordinary ground truth: mmrotate 1.x `DOTADataset` sets aside only difficulty > `diff_thr` = 100, LMMRotate's setting.

Means: precision_i = M[i,i] / (column sum i), recall_i = M[i,i] / (row sum i), a zero denominator replaced by 1, for
all n+1 indices, the background included (its diagonal is always 0, so its precision and recall are 0). mP and mR are
the means over the n+1 indices, so neither exceeds n/(n+1) (a perfect answer on a set with one class scores mF1 0.5),
and a class without ground truth before the last one counts 0 in both. mF1 = 2 mP mR / (mP + mR).

Score sweep: LMMRotate evaluates thresholds 0, 0.1, ..., 0.9 and prints the best, mean and worst mF1; `best_mf1` gives
the best with the whole sweep. Its optional NMS before counting (off by default) is not offered here.

Where LMMRotate gives no usable answer, ours is defined: mF1 is 0 where mP + mR = 0 (LMMRotate: NaN); detections of
a class after the last class with ground truth (LMMRotate: an index error, or, for the class right after it, counts in
the background column) and detections or objects whose label is not in `classes` are left out and counted in
`F1Result.left_out`. A zero-area rectangle overlaps nothing here (mmrotate widens it to 1e-3 pixels first). Counts are
exact integers; the means are float64 (LMMRotate's float32 agrees to about 1e-7).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rs_detect_eval.classes import normalize_class
from rs_detect_eval.iou import hbb_overlap_pairs, min_area_rectangles, pair_ious, polygon_hbbs
from rs_detect_eval.records import ImageDet, ImageGT, image_positions, known_images

#: LMMRotate's default sweep, [0.1 * x for x in range(10)], written rounded (equal once compared in float32).
DEFAULT_SCORE_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))

UNKNOWN_LABEL = "label not in the class list"
AFTER_LAST_CLASS = "class after the last class with ground truth"


@dataclass
class F1Result:
    """mF1 with mP, mR, per-class values, the confusion matrix, the score threshold and what was left out."""

    f1: float
    precision: float
    recall: float
    score_thr: float
    per_class: dict[str, dict[str, float]]
    confusion: np.ndarray
    left_out: dict[str, int] = field(default_factory=dict)
    sweep: dict[float, float] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """The number of evaluated classes (the matrix has one more row and column, the background)."""
        return len(self.confusion) - 1

    def to_dict(self) -> dict:
        return {
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
            "score_thr": self.score_thr,
            "num_classes": self.num_classes,
            "per_class": self.per_class,
            "left_out": dict(self.left_out),
            "sweep": {str(t): f for t, f in self.sweep.items()},
        }


@dataclass
class _Objects:
    """Objects of all images as flat arrays: image index, class index, polygon, score (0 for ground truth)."""

    image: np.ndarray
    cls: np.ndarray
    polygons: np.ndarray
    scores: np.ndarray

    def subset(self, keep: np.ndarray) -> _Objects:
        return _Objects(self.image[keep], self.cls[keep], self.polygons[keep], self.scores[keep])


def _flatten(
    items: Sequence[ImageGT] | Sequence[ImageDet],
    image_index: dict[str, int],
    class_index: dict[str, int],
    left_out: Counter,
) -> _Objects:
    images, classes, polygons, scores = [], [], [], []
    for item in items:
        ids = np.array([class_index.get(normalize_class(label), -1) for label in item.labels], dtype=np.int64)
        keep = ids >= 0
        left_out[UNKNOWN_LABEL] += int(np.sum(~keep))
        images.append(np.full(int(keep.sum()), image_index[item.image_id], dtype=np.int64))
        classes.append(ids[keep])
        polygons.append(item.polygons[keep])
        scores.append(item.scores[keep] if isinstance(item, ImageDet) else np.zeros(int(keep.sum())))
    if not images:
        return _Objects(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0))
    return _Objects(np.concatenate(images), np.concatenate(classes), np.concatenate(polygons), np.concatenate(scores))


def _confusion(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float,
    score_thr: float,
) -> tuple[np.ndarray, dict[str, int]]:
    image_index = image_positions(gts)
    class_index = {normalize_class(name): i for i, name in enumerate(classes)}
    left_out: Counter = Counter()
    gt = _flatten(gts, image_index, class_index, left_out)
    det = _flatten(known_images(dets, image_index, "error")[0], image_index, class_index, left_out)
    background = int(gt.cls.max(initial=-1)) + 1  # LMMRotate's get_num_classes
    left_out[AFTER_LAST_CLASS] += int(np.sum(det.cls >= background))
    det = det.subset((det.cls < background) & (det.scores.astype(np.float32) >= np.float32(score_thr)))
    gt_poly, det_poly = min_area_rectangles(gt.polygons), min_area_rectangles(det.polygons)
    rows, cols = hbb_overlap_pairs(polygon_hbbs(det_poly), polygon_hbbs(gt_poly), det.image, gt.image)
    ious = pair_ious(det_poly, gt_poly, rows, cols)
    hit = ious.astype(np.float32) >= np.float32(iou_thr)
    rows, cols = rows[hit], cols[hit]
    matrix = np.zeros((background + 1, background + 1), dtype=np.int64)
    np.add.at(matrix, (gt.cls[cols], det.cls[rows]), 1)
    unmatched = np.ones(len(det.cls), dtype=bool)
    unmatched[rows] = False
    np.add.at(matrix, (background, det.cls[unmatched]), 1)
    found = np.zeros(len(gt.cls), dtype=bool)
    found[cols[gt.cls[cols] == det.cls[rows]]] = True
    np.add.at(matrix, (gt.cls[~found], background), 1)
    return matrix, {reason: count for reason, count in left_out.items() if count}


def confusion_matrix(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    score_thr: float = 0.0,
) -> np.ndarray:
    """The (n+1) x (n+1) matrix of the module docstring: rows ground truth, columns detections, background last."""
    return _confusion(dets, gts, classes, iou_thr, score_thr)[0]


def _nonzero(values: np.ndarray) -> np.ndarray:
    return np.where(values == 0, 1, values)


def evaluate_mf1(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    score_thr: float = 0.0,
) -> F1Result:
    """mF1 at one score threshold (all detections for an unscored model)."""
    matrix, left_out = _confusion(dets, gts, classes, iou_thr, score_thr)
    tp = np.diag(matrix).astype(np.float64)
    precision = tp / _nonzero(matrix.sum(axis=0))
    recall = tp / _nonzero(matrix.sum(axis=1))
    mean_p, mean_r = float(precision.mean()), float(recall.mean())
    f1 = 2 * mean_p * mean_r / (mean_p + mean_r) if mean_p + mean_r > 0 else 0.0
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i])}
        for i, name in enumerate(classes[: len(matrix) - 1])
    }
    return F1Result(f1, mean_p, mean_r, score_thr, per_class, matrix, left_out)


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
