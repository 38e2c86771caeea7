"""Per-benchmark scoring rules that leave predictions unchanged (so a cache stays valid when they change)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rscovlm_eval.config import BenchmarkConfig
from rscovlm_eval.registry import get_benchmark


def scoring_options(bench: BenchmarkConfig) -> dict[str, Any]:
    """The benchmark's scoring rules: the config's, else the registry's defaults (upstream RSCoVLM's)."""
    return {
        "vqa_match": bench.vqa_match or get_benchmark(bench.name).vqa_match,
        "dense_det_clear_pred_for_empty_gt": bench.dense_det_clear_pred_for_empty_gt,
    }


def clear_predictions_for_empty_gt(dets: list, gts: list) -> list:
    """Upstream's `dense_det_clear_pred_for_empty_gt`: an image without ground truth objects keeps no detections
    (its answer is taken as "There are none."), so false positives there do not count."""
    from rs_detect_eval import ImageDet

    empty = {gt.image_id for gt in gts if len(gt.labels) == 0}
    return [ImageDet(d.image_id, np.zeros((0, 8)), [], np.zeros(0)) if d.image_id in empty else d for d in dets]
