"""Multi-object referring (GeoChat-Bench `referring.jsonl`), as upstream RSCoVLM scores it
(`compute_geochat_referring_acc` in its `rscovlm/eval/metric/metric.py`).

Every box of the answer is matched against every target by generalised IoU (GIoU = IoU - (C - U) / C, C the area
of the convex hull of both polygons, U their union); greedily, the best remaining pair is matched while its GIoU is
at least 0.5, each prediction and target used once. With TP matches, FP = predictions - TP and FN = targets - TP,
F1 = 2TP / (2TP + FP + FN); a sample is correct when F1 = 1 (every target found, nothing extra). Reported as
Pr(F1=1, IoU=0.5) overall, per size group, per line type and for single / multiple objects (one `obj_ids` entry or
more). GeoChat's own paper reports accuracy@0.5 of single boxes instead; GIoU <= IoU, so this rule is stricter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rs_detect_eval import poly_iou_matrix
from rscovlm_eval.metrics.oriented_grounding import polygon_area
from rscovlm_eval.metrics.result import Accuracy, accuracy_table, mean_accuracy

MATCH_THRESHOLD = 0.5


def _hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of 2-D points (Andrew's monotone chain)."""
    pts = sorted(map(tuple, points))

    def turn(o: tuple, a: tuple, b: tuple) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(sequence: list) -> list:
        chain: list = []
        for p in sequence:
            while len(chain) >= 2 and turn(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain[:-1]

    hull = np.array(half(pts) + half(pts[::-1]), dtype=float)
    return polygon_area(hull.reshape(-1)) if len(hull) >= 3 else 0.0


def polygon_giou(a: np.ndarray, b: np.ndarray) -> float:
    """Generalised IoU of two 4-point polygons (8 numbers each)."""
    iou = float(poly_iou_matrix(a, b)[0, 0])
    area_a, area_b = polygon_area(a), polygon_area(b)
    union = area_a + area_b - iou * (area_a + area_b) / (1 + iou)  # inter = iou * (A + B) / (1 + iou)
    hull = _hull_area(np.concatenate([a.reshape(4, 2), b.reshape(4, 2)]))
    return iou - (hull - union) / hull if hull > 0 else 0.0


def sample_f1(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> float:
    """F1 of one answer's boxes against its targets after greedy GIoU >= 0.5 matching."""
    giou = np.array([[polygon_giou(p, t) for t in targets] for p in predictions], dtype=float)
    giou = giou.reshape(len(predictions), len(targets))
    tp = 0
    for _ in range(min(len(predictions), len(targets))):
        row, col = np.unravel_index(np.argmax(giou), giou.shape)
        if giou[row, col] < MATCH_THRESHOLD:
            break
        tp += 1
        giou[row, :] = -np.inf
        giou[:, col] = -np.inf
    fp, fn = len(predictions) - tp, len(targets) - tp
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0


@dataclass
class MultiReferringResult:
    """Pr(F1=1) overall and per value of each grouping (`groups["size"]["large"]`)."""

    accuracy: float
    count: int
    groups: dict[str, dict[str, Accuracy]]
    rule: str = "F1 = 1 after greedy GIoU >= 0.5 matching"

    def to_dict(self) -> dict[str, Any]:
        tables = {f"per_{name}": {v: a.to_dict() for v, a in table.items()} for name, table in self.groups.items()}
        return {"accuracy": self.accuracy, "count": self.count, "rule": self.rule, **tables}


def evaluate_multi_referring(
    predictions: Sequence[Sequence[np.ndarray]],
    targets: Sequence[Sequence[np.ndarray]],
    groups: Sequence[dict[str, str]],
) -> MultiReferringResult:
    """Pr(F1=1) overall and per group value (e.g. {"size": "large", "type": "ref", "objects": "single"})."""
    if not len(predictions) == len(targets) == len(groups):
        raise ValueError("predictions, targets and groups must have the same length")
    hits = [sample_f1(p, t) >= 1.0 for p, t in zip(predictions, targets, strict=True)]
    by_group: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for hit, group in zip(hits, groups, strict=True):
        for name, value in group.items():
            by_group[name][value].append(hit)
    tables = {name: accuracy_table(values) for name, values in sorted(by_group.items())}
    return MultiReferringResult(mean_accuracy(hits), len(hits), tables)
