"""VHM-Eval's visual grounding, building vectorisation and multi-label classification suites, by the rules of VHM's
evaluation kit (fitzpchao/RSEvalKit, `model_eval_mp.py`: `eval_results_bbox`, `eval_results_ciou`,
`eval_results_ml`), which VHM's paper reports (Pang et al., 2024, "VHM: Versatile and Honest Vision Language Model
for Remote Sensing Image Analysis").

- Coordinates in a text are the numbers between its first `[` and its last `]` (the kit's `extract_bbox` and
  `extract_points`), taken as x, y pairs; a text without brackets (this project's plain box text, `x1,y1,x2,y2`)
  gives all its numbers.
- grounding (`VG_*`): the answer's box is in pixels; a prediction is correct when its IoU with it is >= 0.5;
  accuracy overall and by the answer box's area (<= 32² small, <= 96² medium, else large, the kit's levels).
- building vectorisation (`bfv_*`): the answer's polygon is on VHM's 0-1000 grid; both polygons are rasterised at the
  image size with pycocotools (as the kit does), IoU of the masks (1 when both are empty); with N and N_gt vertices,
  ps = 1 - |N - N_gt| / (N + N_gt) and C-IoU = IoU * ps; both averaged over the suite.
- multi-label classification (`mlc_*`): a question's categories are its text after the first `:` (the last
  character dropped), comma-separated; a text names a category when the name occurs in it. Per category, precision
  CP = named by both / named by the model (0 when the model never names it): the kit's average CP. Also per
  category recall (over the categories with ground truth), their mean CR and CF1 = 2 CP CR / (CP + CR).

Where the kit fails, the rule is kept: an answer without a box or polygon (the kit averages None) scores IoU 0 and
is counted (`no_box`, `no_polygon`); names are compared in lower case (the kit's test is case-sensitive); a
question without a `:` category list is counted in `no_categories`. The kit scales both x and y of a polygon by
the image width (its `h, w = size` over PIL's (width, height)); here x by the width and y by the height, the same
on the suite's square CrowdAI tiles.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rscovlm_eval.metrics.grounding import hbb_iou
from rscovlm_eval.metrics.result import Accuracy, Result, accuracy_table

_NUMBER = re.compile(r"[-+]?\d*\.?\d+")  # the kit's EXTRACT_NUMBER_PATTERN
GRID = 1000.0  # VHM's coordinate grid for polygons
AREA_LEVELS = ((32**2, "small"), (96**2, "medium"), (float("inf"), "large"))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bracket_points(text: str) -> np.ndarray | None:
    """The x, y pairs between the first `[` and the last `]` of `text` (all of it without brackets), (N, 2); None
    without two numbers."""
    start, end = text.find("["), text.rfind("]")
    inside = text[start : end + 1] if start != -1 and end > start else text
    numbers = [v for v in map(float, _NUMBER.findall(inside)) if math.isfinite(v)]  # 400 nines: inf, not a number
    if len(numbers) < 2:
        return None
    return np.array(numbers[: len(numbers) // 2 * 2]).reshape(-1, 2)


@dataclass
class VhmGroundingScores(Result):
    accuracy: float
    mean_iou: float
    no_box: int
    by_size: dict[str, Accuracy]
    unreadable_answers: int  # ground-truth answers without a box: left out


def grounding_scores(predicted: Sequence[np.ndarray | None], answers: Sequence[str]) -> VhmGroundingScores:
    """Scores of predicted boxes (two corner points in original pixels, or None) against the answers' pixel boxes."""
    ious: list[float] = []
    hits: dict[str, list[bool]] = {name: [] for _, name in AREA_LEVELS}
    no_box = unreadable = 0
    for points, answer in zip(predicted, answers, strict=True):
        truth = bracket_points(answer)
        if truth is None or len(truth) < 2:
            unreadable += 1
            continue
        box = truth[:2].reshape(-1)
        if points is None or len(points) < 2:
            no_box += 1
            iou = 0.0
        else:
            iou = hbb_iou(points[:2].reshape(-1), box)
        area = (box[2] - box[0]) * (box[3] - box[1])
        hits[next(name for limit, name in AREA_LEVELS if area <= limit)].append(iou >= 0.5)
        ious.append(iou)
    flags = [h for values in hits.values() for h in values]
    by_size = accuracy_table({k: v for k, v in hits.items() if v})
    return VhmGroundingScores(_mean(flags), _mean(ious), no_box, by_size, unreadable)


@dataclass
class VectorisationScores(Result):
    mean_iou: float
    mean_ciou: float
    no_polygon: int
    unreadable_answers: int  # ground-truth answers without a polygon: left out


def _mask(points: np.ndarray, width: int, height: int) -> np.ndarray:
    from pycocotools import mask as cocomask

    rle = cocomask.frPyObjects([points.reshape(-1).tolist()], height, width)
    return cocomask.decode(rle).reshape(height, width) != 0


def vectorisation_scores(
    predicted: Sequence[np.ndarray | None], answers: Sequence[str], sizes: Sequence[tuple[int, int]]
) -> VectorisationScores:
    """Mask IoU and C-IoU of predicted polygons (original pixels, or None) against the answers' 0-1000 polygons."""
    ious, cious, no_polygon, unreadable = [], [], 0, 0
    for points, answer, (width, height) in zip(predicted, answers, sizes, strict=True):
        truth = bracket_points(answer)
        if truth is None or len(truth) < 3:
            unreadable += 1
            continue
        truth = truth * np.array([width, height]) / GRID
        if points is None or len(points) < 3:
            no_polygon += 1
            ious.append(0.0)
            cious.append(0.0)
            continue
        a, b = _mask(points, width, height), _mask(truth, width, height)
        union = np.logical_or(a, b).sum()
        iou = 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
        n, n_gt = len(points), len(truth)
        ious.append(iou)
        cious.append(iou * (1 - abs(n - n_gt) / (n + n_gt)))
    return VectorisationScores(_mean(ious), _mean(cious), no_polygon, unreadable)


@dataclass
class MultiLabelScores(Result):
    average_cp: float
    average_cr: float
    cf1: float
    no_categories: int


def categories_of(question: str) -> list[str] | None:
    """The category names a multi-label question offers (after its first `:`), or None without a list."""
    start = question.find(":")
    if start == -1:
        return None
    names = [name.strip().lower() for name in question[start + 1 : -1].split(",")]
    return [name for name in names if name] or None


def multi_label_scores(
    predictions: Sequence[str], answers: Sequence[str], questions: Sequence[str]
) -> MultiLabelScores:
    """Average per-category precision (the kit's average CP), recall and CF1."""
    named, truth, both = Counter(), Counter(), Counter()
    offered: set[str] = set()
    no_categories = 0
    for prediction, answer, question in zip(predictions, answers, questions, strict=True):
        names = categories_of(question)
        if names is None:
            no_categories += 1
            continue
        offered |= set(names)
        said = {n for n in names if n in prediction.lower()}
        true = {n for n in names if n in answer.lower()}
        named.update(said)
        truth.update(true)
        both.update(said & true)
    classes = sorted(offered)
    cp = sum(both[c] / named[c] if named[c] else 0.0 for c in classes) / len(classes) if classes else 0.0
    with_truth = [c for c in classes if truth[c]]
    cr = sum(both[c] / truth[c] for c in with_truth) / len(with_truth) if with_truth else 0.0
    cf1 = 2 * cp * cr / (cp + cr) if cp + cr else 0.0
    return MultiLabelScores(cp, cr, cf1, no_categories)
