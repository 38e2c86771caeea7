"""mAP_nc: mAP without confidence, the fair protocol between a VLM (no scores) and a scored detector.

A VLM's boxes all get score 1. A scored detector is cut at a score threshold t (boxes with score > t survive, as in
LMMRotate) and the survivors get score 1; t is the one of {0, 0.05, ..., 0.95} with the best mAP on a validation set
(the smallest on ties), then applied to the test set. With all scores equal, AP depends on the order of the ranked list:
the reported mAP uses the deterministic order of `tie_order="input"` (the detections in the order given, see
`map_eval`), and the mean and standard deviation over K seeded random orders are reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rs_detect_eval.map_eval import MapResult, evaluate_map
from rs_detect_eval.records import ImageDet, ImageGT

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20))


@dataclass
class MapNcResult:
    """mAP_nc in the deterministic order, its spread over random tie orders, and the score threshold used."""

    map: float
    result: MapResult
    threshold: float | None
    tie_maps: list[float] = field(default_factory=list)
    threshold_maps: dict[float, float] = field(default_factory=dict)

    @property
    def map_mean(self) -> float:
        return float(np.mean(self.tie_maps)) if self.tie_maps else self.map

    @property
    def map_std(self) -> float:
        return float(np.std(self.tie_maps)) if self.tie_maps else 0.0

    def to_dict(self) -> dict:
        return {
            **self.result.to_dict(),
            "map": self.map,
            "threshold": self.threshold,
            "map_mean_random_ties": self.map_mean,
            "map_std_random_ties": self.map_std,
            "random_tie_orders": len(self.tie_maps),
            "validation_maps": {str(t): m for t, m in self.threshold_maps.items()},
        }


def without_scores(dets: Sequence[ImageDet], threshold: float | None = None) -> list[ImageDet]:
    """Detections with score 1, after keeping those with score > threshold when one is given."""
    out = []
    for det in dets:
        kept = det if threshold is None else det.subset(det.scores > threshold)
        out.append(ImageDet(kept.image_id, kept.polygons, kept.labels, np.ones(len(kept.labels))))
    return out


def is_scored(dets: Sequence[ImageDet]) -> bool:
    """Whether the detections carry more than one distinct score."""
    scores = np.concatenate([d.scores for d in dets]) if dets else np.zeros(0)
    return len(np.unique(scores)) > 1


def select_threshold(
    val_dets: Sequence[ImageDet],
    val_gts: Sequence[ImageGT],
    classes: Sequence[str],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    **map_options,
) -> tuple[float, dict[float, float]]:
    """The score threshold with the best mAP_nc on a validation set, and the mAP at every threshold tried."""
    maps = {
        t: evaluate_map(without_scores(val_dets, t), val_gts, classes, tie_order="input", **map_options).map
        for t in thresholds
    }
    best = max(maps.values())
    return min(t for t, m in maps.items() if m == best), maps


def evaluate_map_nc(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    threshold: float | None = None,
    val: tuple[Sequence[ImageDet], Sequence[ImageGT]] | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    tie_seeds: int = 10,
    **map_options,
) -> MapNcResult:
    """mAP_nc of detections; a scored detector needs an explicit `threshold` or a validation set `val` to pick one.

    `map_options` go to `evaluate_map` (iou_thr, convention, ap_mode, difficult_as_ignore).
    """
    threshold_maps: dict[float, float] = {}
    if threshold is None and val is not None:
        threshold, threshold_maps = select_threshold(val[0], val[1], classes, thresholds, **map_options)
    elif threshold is None and is_scored(dets):
        raise ValueError("scored detections need a score threshold or a validation set to choose one")
    plain = without_scores(dets, threshold)
    result = evaluate_map(plain, gts, classes, tie_order="input", **map_options)
    tie_maps = [evaluate_map(plain, gts, classes, tie_order=seed, **map_options).map for seed in range(tie_seeds)]
    return MapNcResult(result.map, result, threshold, tie_maps, threshold_maps)
