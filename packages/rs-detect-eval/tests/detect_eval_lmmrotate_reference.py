"""A literal, loop-per-detection restatement of LMMRotate's mF1 (`lmmrotate/modules/f1_metric.py`), a test oracle.

Step by step as there: the number of classes is 1 + the highest ground-truth label over all images; per image and per
detected class, each detection with score >= threshold (float32) is compared with every ground-truth object; each
overlap with IoU >= threshold (float32) adds 1 to [object class, detection class] and, for the same class, marks the
object found; a detection with no overlap adds 1 to the background row; every object never found adds 1 to the
background column. Precision and recall per index over the whole matrix (zero denominators replaced by 1), mean over
all indices, F1 from the two means. Boxes are minimum-area rectangles; IoU is shapely's, one pair at a time.
"""

from __future__ import annotations

import numpy as np
import shapely
from rs_resolution import obb_to_poly, poly_to_obb


def _rectangle(polygon: np.ndarray) -> shapely.Polygon:
    return shapely.Polygon(obb_to_poly(poly_to_obb(polygon[None]))[0].reshape(4, 2))


def _iou(a: shapely.Polygon, b: shapely.Polygon) -> float:
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if a.area > 0 and b.area > 0 and union > 0 else 0.0


def lmmrotate_mf1(
    images: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    score_thr: float = 0.0,
    iou_thr: float = 0.5,
) -> tuple[np.ndarray, float, float, float]:
    """`images`: (gt polygons, gt labels, det polygons, det labels, det scores) per image; labels are class indices.

    Returns the confusion matrix, mP, mR and mF1.
    """
    num_classes = max([int(labels.max()) for _, labels, *_ in images if len(labels)], default=-1) + 1
    matrix = np.zeros((num_classes + 1, num_classes + 1))
    for gt_polygons, gt_labels, det_polygons, det_labels, det_scores in images:
        gt_boxes = [_rectangle(p) for p in gt_polygons]
        found = np.zeros(len(gt_labels))
        for det_label in np.unique(det_labels):
            for index in np.flatnonzero(det_labels == det_label):
                if not np.float32(det_scores[index]) >= np.float32(score_thr):
                    continue
                box = _rectangle(det_polygons[index])
                matches = 0
                for j, gt_label in enumerate(gt_labels):
                    if np.float32(_iou(box, gt_boxes[j])) >= np.float32(iou_thr):
                        matches += 1
                        if gt_label == det_label:
                            found[j] += 1
                        matrix[gt_label, det_label] += 1
                if matches == 0:
                    matrix[-1, det_label] += 1
        for count, gt_label in zip(found, gt_labels, strict=True):
            if count == 0:
                matrix[gt_label, -1] += 1
    tp = np.diag(matrix)
    column, row = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = tp / np.where(column == 0, 1, column)
    recall = tp / np.where(row == 0, 1, row)
    mean_p, mean_r = float(precision.mean()), float(recall.mean())
    return matrix, mean_p, mean_r, 2 * mean_p * mean_r / (mean_p + mean_r)
