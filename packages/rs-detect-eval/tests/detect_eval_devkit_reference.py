"""A literal, loop-per-detection restatement of DOTA_devkit `dota_evaluation_task1.voc_eval` used as a test oracle.

It follows the devkit's published procedure step by step (one class at a time, detections ranked by
`numpy.argsort(-confidence)`, an axis-aligned prefilter keeping ground truth whose +1-pixel box IoU is positive, then
polygon IoU of the survivors, the first maximum as the match, a match when IoU > threshold, difficult objects neither
counted nor penalised, recall = tp / float(npos) and VOC AP in float64, all arithmetic included: with npos = 0 the
recall is NaN, so the 11-point AP is 0 and the all-point AP NaN). Polygon IoU here is shapely's, one pair at a time,
which equals the devkit's C routine on valid polygons.
"""

from __future__ import annotations

import numpy as np
import shapely


def _pair_iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = shapely.Polygon(a.reshape(4, 2)), shapely.Polygon(b.reshape(4, 2))
    inter = pa.intersection(pb).area
    return inter / (pa.area + pb.area - inter)


def _voc_ap(rec: np.ndarray, prec: np.ndarray, use_07_metric: bool) -> float:
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def devkit_class_ap(
    gt_by_image: dict[str, list[tuple[np.ndarray, str, bool]]],
    lines: list[tuple[str, float, np.ndarray]],
    classname: str,
    ovthresh: float = 0.5,
    use_07_metric: bool = True,
) -> float:
    """AP of one class; `lines` are the rows of that class's Task1 file: (image, confidence, polygon)."""
    class_recs = {}
    npos = 0
    for image, objects in gt_by_image.items():
        mine = [o for o in objects if o[1] == classname]
        difficult = np.array([o[2] for o in mine], dtype=bool)
        npos += int(np.sum(~difficult))
        bbox = np.array([o[0] for o in mine]).reshape(-1, 8)
        class_recs[image] = {"bbox": bbox, "difficult": difficult, "det": [False] * len(mine)}
    confidence = np.array([line[1] for line in lines])
    order = np.argsort(-confidence)
    tp, fp = np.zeros(len(lines)), np.zeros(len(lines))
    for d, index in enumerate(order):
        image, _, bb = lines[index]
        record = class_recs[image]
        gt = record["bbox"]
        ovmax, jmax = -np.inf, -1
        if gt.size > 0:
            ixmin = np.maximum(gt[:, 0::2].min(1), bb[0::2].min())
            iymin = np.maximum(gt[:, 1::2].min(1), bb[1::2].min())
            ixmax = np.minimum(gt[:, 0::2].max(1), bb[0::2].max())
            iymax = np.minimum(gt[:, 1::2].max(1), bb[1::2].max())
            inters = np.maximum(ixmax - ixmin + 1.0, 0.0) * np.maximum(iymax - iymin + 1.0, 0.0)
            gt_area = (gt[:, 0::2].max(1) - gt[:, 0::2].min(1) + 1.0) * (gt[:, 1::2].max(1) - gt[:, 1::2].min(1) + 1.0)
            bb_area = (bb[0::2].max() - bb[0::2].min() + 1.0) * (bb[1::2].max() - bb[1::2].min() + 1.0)
            keep = np.flatnonzero(inters / (bb_area + gt_area - inters) > 0)
            if len(keep):
                overlaps = [_pair_iou(gt[k], bb) for k in keep]
                ovmax = np.max(overlaps)
                jmax = keep[int(np.argmax(overlaps))]
        if ovmax > ovthresh:
            if not record["difficult"][jmax]:
                if not record["det"][jmax]:
                    tp[d] = 1.0
                    record["det"][jmax] = True
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    with np.errstate(invalid="ignore", divide="ignore"):
        rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return float(_voc_ap(rec, prec, use_07_metric))
