"""VOC average precision from a ranked precision/recall curve, in the two arithmetics the references use.

`devkit`: float64 throughout, as DOTA_devkit's `voc_ap`. `mmrotate`: float32 precision and a float32 accumulator, as
mmdet 2.x `average_precision` called by mmrotate 0.3.4 `eval_rbbox_map`. Recall thresholds of the 11-point form are
`i * 0.1` for i in 0..10 (so the fourth one is 0.30000000000000004, exactly as `numpy.arange` builds them).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

ApMode = Literal["voc07", "area"]

RECALL_POINTS = np.arange(11) * 0.1


def _eleven_point_precisions(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Max precision at recall >= t for each of the 11 thresholds (0 where no such recall), same dtype as precision."""
    result = np.zeros(len(RECALL_POINTS), dtype=precision.dtype)
    if len(recall) == 0:
        return result
    suffix_max = np.maximum.accumulate(precision[::-1])[::-1]
    first = np.searchsorted(recall, RECALL_POINTS, side="left")
    reached = first < len(recall)
    result[reached] = suffix_max[first[reached]]
    return result


def _area(recall: np.ndarray, precision: np.ndarray) -> float:
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    change = np.flatnonzero(mrec[1:] != mrec[:-1])
    return np.sum((mrec[change + 1] - mrec[change]) * mpre[change + 1])


def voc_ap_devkit(recall: np.ndarray, precision: np.ndarray, mode: ApMode) -> float:
    """DOTA_devkit arithmetic (float64); recall must be non-decreasing."""
    if mode == "voc07":
        total = 0.0
        for value in _eleven_point_precisions(recall, precision):
            total = total + value / 11.0
        return float(total)
    return float(_area(recall, precision))


def voc_ap_mmrotate(recall: np.ndarray, precision: np.ndarray, mode: ApMode) -> float:
    """mmdet 2.x arithmetic: precision float32, the AP accumulated and stored in float32."""
    precision = precision.astype(np.float32)
    ap = np.zeros(1, dtype=np.float32)
    if mode == "voc07":
        for value in _eleven_point_precisions(recall, precision):
            ap += value
        ap /= 11
    else:
        ap[0] = _area(recall, precision.astype(np.float64))
    return float(ap[0])
