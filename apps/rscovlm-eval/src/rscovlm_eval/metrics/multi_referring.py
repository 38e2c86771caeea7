"""GeoChat-Bench referring and grounding (`referring.jsonl`, single- and multi-object lines) by two rules.

Upstream RSCoVLM's (`compute_geochat_referring_acc` in its `rscovlm/eval/metric/metric.py`):
Every box of the answer is matched against every target by generalised IoU (GIoU = IoU - (C - U) / C, C the area
of the convex hull of both polygons, U their union); greedily, the best remaining pair is matched while its GIoU is
at least 0.5, each prediction and target used once. With TP matches, FP = predictions - TP and FN = targets - TP,
F1 = 2TP / (2TP + FP + FN); a sample is correct when F1 = 1 (every target found, nothing extra). Reported as
Pr(F1=1, IoU=0.5) overall, per size group, per line type and for single / multiple objects (one `obj_ids` entry or
more).

GeoChat's own (Kuckreja et al., CVPR 2024, "GeoChat: Grounded Large Vision-Language Model for Remote Sensing", its
visual grounding evaluation), accuracy@0.5: a predicted box is correct when its IoU with the ground-truth box is above
0.5, reported per object size, for single- and multi-object lines, per task (`[refer]` / `[grounding]`) and overall.
GeoChat publishes no scorer for it; here each ground-truth box of a line counts once, paired one-to-one with the
answer's boxes greedily by IoU (the highest remaining pair first, while above 0.5), and the accuracy is the share of
ground-truth boxes found (for single-object lines, the share of lines answered right). The IoU is the polygon IoU of the
boxes as GeoChat writes them (rotated by their angle), in original pixels. Extra answer boxes cost nothing (an
accuracy, not a precision); upstream's rule counts them, and GIoU <= IoU, so it is the stricter one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rs_detect_eval import poly_iou_matrix
from rscovlm_eval.metrics.oriented_grounding import polygon_area
from rscovlm_eval.metrics.result import Accuracy

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


def greedy_matches(scores: np.ndarray, accept: Callable[[float], bool]) -> int:
    """The pairs matched one-to-one from a (predictions, targets) score matrix, best remaining pair first, while
    `accept` takes its score."""
    scores = np.array(scores, dtype=float)
    matched = 0
    for _ in range(min(scores.shape)):
        row, col = np.unravel_index(np.argmax(scores), scores.shape)
        if not accept(scores[row, col]):
            break
        matched += 1
        scores[row, :] = -np.inf
        scores[:, col] = -np.inf
    return matched


def sample_f1(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> float:
    """F1 of one answer's boxes against its targets after greedy GIoU >= 0.5 matching."""
    giou = np.array([[polygon_giou(p, t) for t in targets] for p in predictions], dtype=float)
    tp = greedy_matches(giou.reshape(len(predictions), len(targets)), lambda g: g >= MATCH_THRESHOLD)
    fp, fn = len(predictions) - tp, len(targets) - tp
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0


def boxes_found(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> int:
    """The targets found by GeoChat's accuracy@0.5: paired one-to-one greedily by IoU, IoU above 0.5."""
    if not len(predictions) or not len(targets):
        return 0
    iou = poly_iou_matrix(np.asarray(predictions, dtype=float), np.asarray(targets, dtype=float))
    return greedy_matches(iou, lambda value: value > MATCH_THRESHOLD)


UPSTREAM_RULE = "F1 = 1 after greedy GIoU >= 0.5 matching"
GEOCHAT_RULE = "accuracy@0.5: ground-truth boxes found, IoU > 0.5 after greedy one-to-one matching"


@dataclass
class MultiReferringResult:
    """Accuracy by the rule overall and per value of each grouping (`groups["size"]["large"]`); `count` is the
    number of lines, the tables' counts those of what the rule scores (lines, or ground-truth boxes)."""

    accuracy: float
    count: int
    groups: dict[str, dict[str, Accuracy]]
    rule: str = UPSTREAM_RULE

    def to_dict(self) -> dict[str, Any]:
        tables = {f"per_{name}": {v: a.to_dict() for v, a in table.items()} for name, table in self.groups.items()}
        return {"accuracy": self.accuracy, "count": self.count, "rule": self.rule, **tables}


def _share(counts: Sequence[tuple[int, int]]) -> Accuracy:
    """(correct, scored) pairs summed: their accuracy and the number scored."""
    correct, total = sum(c for c, _ in counts), sum(t for _, t in counts)
    return Accuracy(correct / total if total else 0.0, total)


def _grouped(counts: list[tuple[int, int]], groups: Sequence[dict[str, str]], rule: str) -> MultiReferringResult:
    by_group: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for sample, group in zip(counts, groups, strict=True):
        for name, value in group.items():
            by_group[name][value].append(sample)
    tables = {name: {v: _share(c) for v, c in sorted(values.items())} for name, values in sorted(by_group.items())}
    return MultiReferringResult(_share(counts).accuracy, len(counts), tables, rule)


def _check(predictions: Sequence, targets: Sequence, groups: Sequence) -> None:
    if not len(predictions) == len(targets) == len(groups):
        raise ValueError("predictions, targets and groups must have the same length")


def evaluate_multi_referring(
    predictions: Sequence[Sequence[np.ndarray]],
    targets: Sequence[Sequence[np.ndarray]],
    groups: Sequence[dict[str, str]],
) -> MultiReferringResult:
    """Pr(F1=1) overall and per group value (e.g. {"size": "large", "type": "ref", "objects": "single"})."""
    _check(predictions, targets, groups)
    hits = [(int(sample_f1(p, t) >= 1.0), 1) for p, t in zip(predictions, targets, strict=True)]
    return _grouped(hits, groups, UPSTREAM_RULE)


def evaluate_geochat_grounding(
    predictions: Sequence[Sequence[np.ndarray]],
    targets: Sequence[Sequence[np.ndarray]],
    groups: Sequence[dict[str, str]],
) -> MultiReferringResult:
    """GeoChat's accuracy@0.5 over ground-truth boxes, overall and per group value."""
    _check(predictions, targets, groups)
    found = [(boxes_found(p, t), len(t)) for p, t in zip(predictions, targets, strict=True)]
    return _grouped(found, groups, GEOCHAT_RULE)
