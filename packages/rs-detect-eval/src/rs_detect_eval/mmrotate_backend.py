"""Run mmrotate 0.3.4's own `eval_rbbox_map` on our records (needs the `mmrotate` extra; imports torch when called).

Polygons are handed to mmrotate as their minimum-area rectangles `cx, cy, w, h, angle` (radians, "le90", float32),
the form mmrotate's DOTA pipeline gives it; difficult ground truth goes to `bboxes_ignore` only when asked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rs_resolution import poly_to_obb

from rs_detect_eval.average_precision import ApMode
from rs_detect_eval.classes import normalize_class
from rs_detect_eval.map_eval import ClassResult, MapResult
from rs_detect_eval.records import ImageDet, ImageGT


def _obbs(polygons: np.ndarray) -> np.ndarray:
    if len(polygons) == 0:
        return np.zeros((0, 5), dtype=np.float32)
    obb = poly_to_obb(polygons)
    obb[:, 4] = np.deg2rad(obb[:, 4])
    return obb.astype(np.float32)


def to_mmrotate_inputs(
    dets: Sequence[ImageDet], gts: Sequence[ImageGT], classes: Sequence[str], difficult_as_ignore: bool = False
) -> tuple[list[list[np.ndarray]], list[dict]]:
    """`det_results` ([image][class] -> (m, 6) float32) and `annotations` as `eval_rbbox_map` takes them."""
    class_index = {normalize_class(name): i for i, name in enumerate(classes)}
    annotations = []
    for gt in gts:
        labels = np.array([class_index.get(normalize_class(label), -1) for label in gt.labels], dtype=np.int64)
        ignore = gt.difficult & difficult_as_ignore
        keep, drop = (labels >= 0) & ~ignore, (labels >= 0) & ignore
        annotations.append(
            {
                "bboxes": _obbs(gt.polygons[keep]),
                "labels": labels[keep],
                "bboxes_ignore": _obbs(gt.polygons[drop]),
                "labels_ignore": labels[drop],
            }
        )
    per_image: dict[str, list[list[np.ndarray]]] = {gt.image_id: [[] for _ in classes] for gt in gts}
    for det in dets:
        if det.image_id not in per_image:
            raise ValueError(f"detections for image {det.image_id!r}, which has no ground truth")
        labels = np.array([class_index.get(normalize_class(label), -1) for label in det.labels], dtype=np.int64)
        rows = np.concatenate([_obbs(det.polygons), det.scores.astype(np.float32)[:, None]], axis=1)
        for index in range(len(classes)):
            per_image[det.image_id][index].append(rows[labels == index])
    det_results = [
        [np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 6), np.float32) for parts in images]
        for images in per_image.values()
    ]
    return det_results, annotations


def evaluate_map_mmrotate(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    ap_mode: ApMode = "voc07",
    difficult_as_ignore: bool = False,
    nproc: int = 4,
) -> MapResult:
    """mAP computed by mmrotate itself (`mmrotate.core.eval_rbbox_map`), as a MapResult."""
    try:
        from mmrotate.core import eval_rbbox_map
    except ImportError as error:
        raise RuntimeError("the mmrotate backend needs the extra: pip install 'rs-detect-eval[mmrotate]'") from error
    det_results, annotations = to_mmrotate_inputs(dets, gts, classes, difficult_as_ignore)
    mean_ap, results = eval_rbbox_map(
        det_results, annotations, iou_thr=iou_thr, use_07_metric=ap_mode == "voc07", nproc=nproc, logger="silent"
    )
    per_class = {
        name: ClassResult(float(r["ap"]), int(r["num_gts"]), int(r["num_dets"]), r["precision"], r["recall"])
        for name, r in zip(classes, results, strict=True)
    }
    return MapResult(float(mean_ap), per_class, "mmrotate", ap_mode, iou_thr)
