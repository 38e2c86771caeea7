"""Oriented object detection results: rs-detect-eval's mAP (three conventions), mAP_nc and mF1 of one benchmark, or
the summary of its DOTA Task1 export when it has no labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rs_detect_eval import F1Result, MapNcResult, MapResult
from rscovlm_eval.metrics.result import Result


@dataclass
class DetectionResult:
    """VOC07 mAP at IoU 0.5 by DOTA_devkit's and mmrotate's rules (and mmrotate's all-point AP), mAP_nc, mF1,
    and the answer fragments dropped while parsing, by reason."""

    devkit: MapResult
    mmrotate: MapResult
    mmrotate_area: MapResult
    map_nc: MapNcResult
    mf1: F1Result
    count: int
    images: int
    dropped: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "map_devkit": self.devkit.map,
            "map_mmrotate": self.mmrotate.map,
            "map_mmrotate_area": self.mmrotate_area.map,
            "map_nc": self.map_nc.to_dict(),
            "mf1": self.mf1.to_dict(),
            "count": self.count,
            "images": self.images,
            "per_class": self.devkit.to_dict()["per_class"],
            "per_class_mmrotate": self.mmrotate.to_dict()["per_class"],
            "dropped": self.dropped,
        }


@dataclass
class Task1Export(Result):
    """Answers merged into full images and written as DOTA Task1 files (`task1`, relative to the run folder)."""

    count: int
    images: int
    objects: int
    task1: str
    dropped: dict[str, int] = field(default_factory=dict)
