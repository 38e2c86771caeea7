"""Visual grounding: Acc@0.5, mean IoU and accuracy by object size, on axis-aligned boxes.

Convention (as upstream RSCoVLM / DIOR-RSVG): a prediction is correct when IoU > 0.5 (strictly greater).
A missing or unparsable box scores IoU 0. Object size is the ground-truth box area in original pixels, with the
COCO thresholds: small < 32², medium < 96², large otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rscovlm_eval.metrics.result import Result

SIZE_BINS = (("small", 32**2), ("medium", 96**2), ("large", float("inf")))


def hbb_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two x1,y1,x2,y2 boxes (continuous coordinates, no +1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def size_bin(box: np.ndarray) -> str:
    """'small', 'medium' or 'large' by the box's area."""
    return area_bin((box[2] - box[0]) * (box[3] - box[1]))


def area_bin(area: float) -> str:
    """'small' (< 32²), 'medium' (< 96²) or 'large'."""
    return next(name for name, limit in SIZE_BINS if area < limit)


@dataclass
class SizeScores(Result):
    accuracy: float
    mean_iou: float
    count: int


@dataclass
class GroundingResult:
    """Acc@threshold (IoU strictly greater), mean IoU, answers without a box, and both per size bin."""

    accuracy: float
    mean_iou: float
    no_box: int
    count: int
    by_size: dict[str, SizeScores] = field(default_factory=dict)
    threshold: float = 0.5
    iou: str | None = None  # "polygon" for oriented boxes

    def to_dict(self) -> dict[str, Any]:
        result = {
            "acc@0.5": self.accuracy,
            "mean_iou": self.mean_iou,
            "no_box": self.no_box,
            "count": self.count,
            "by_size": {name: s.to_dict() for name, s in self.by_size.items()},
            "iou_rule": f"IoU > {self.threshold}",
        }
        return result | ({"iou": self.iou} if self.iou else {})


def evaluate_grounding(
    predictions: Sequence[np.ndarray | None], targets: Sequence[np.ndarray], threshold: float = 0.5
) -> GroundingResult:
    """Score predicted boxes (None when the answer held no box) against ground-truth x1,y1,x2,y2 boxes."""
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    ious = [
        0.0 if p is None else hbb_iou(np.asarray(p, float), np.asarray(t, float))
        for p, t in zip(predictions, targets, strict=True)
    ]
    bins = [size_bin(np.asarray(t, float)) for t in targets]
    return grounding_summary(ious, bins, sum(p is None for p in predictions), threshold)


def grounding_summary(
    ious: Sequence[float], bins: Sequence[str], no_box: int, threshold: float = 0.5, iou: str | None = None
) -> GroundingResult:
    """Acc@threshold (IoU strictly greater), mean IoU and both per size bin, from one IoU per sample."""
    ious = np.asarray(ious, dtype=float)
    hits = ious > threshold
    by_size = {}
    for name, _ in SIZE_BINS:
        mask = np.array([b == name for b in bins], dtype=bool)
        if mask.any():
            by_size[name] = SizeScores(float(hits[mask].mean()), float(ious[mask].mean()), int(mask.sum()))
    n = len(ious)
    return GroundingResult(
        accuracy=float(hits.mean()) if n else 0.0,
        mean_iou=float(ious.mean()) if n else 0.0,
        no_box=no_box,
        count=n,
        by_size=by_size,
        threshold=threshold,
        iou=iou,
    )
