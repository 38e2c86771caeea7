"""TEOChatlas' temporal tasks by TEOChat's rules (Irvin et al., 2025, "TEOChat: A Large Vision-Language Assistant
for Temporal Earth Observation Data"; `videollava/eval/detection.py` and `classification.py` of its evaluation
code, which upstream RSCoVLM's `teochatlas_bench` metric reuses), one score per data set and task:

- `f1` (change detection localisation and detection, spatial referring expressions): pixel F1 of the marked
  class over all the task's items on TEOChat's 256 x 256 grid; the answer's boxes and the ground-truth region are
  filled as polygons, outline included (PIL's `ImageDraw.polygon(fill=1, outline=1)`, as TEOChat draws them); a
  ground truth without boxes is an empty region, an answer without boxes an empty prediction.
- `w_f1` / `inv_w_f1` (QFabric's region classification, xBD's damage classification): per class, pixel F1 where
  each item's region counts for its answered and its true class; the classes' F1 averaged weighted by prevalence
  (the regions' area per true class), or by inverse prevalence for xBD; xBD's "unclassified" buildings left out.
  An answer outside the classes is a miss of the true class (TEOChat's code adds the sum of a still empty mask
  there, which counts nothing); a true class outside the list counts in the total area only.
- `accuracy` with keywords (xBD question answering): right when one of yes, no and the nine image positions is
  in both cleaned answers, else when they are equal.
- `accuracy` (every other task): TEOChat's exact match after cleaning (`teochat_clean`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from rscovlm_eval.metrics.result import Result
from rscovlm_eval.metrics.teochat import teochat_clean

GRID = 256
KEYWORDS = ["yes", "no", "top left", "top center", "top right", "center left", "center", "center right"]
KEYWORDS += ["bottom left", "bottom center", "bottom right"]
DAMAGE = ["no damage", "minor damage", "major damage", "destroyed"]
DEVELOPMENT = ["residential", "commercial", "industrial", "road", "demolition", "mega projects"]
STATUS = ["prior construction", "greenland", "land cleared", "excavation", "materials dumped"]
STATUS += ["construction started", "construction midway", "construction done", "operational"]
_GROUP = re.compile(r"\[([^\[\]]*)\]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_BOX_ONLY = re.compile(r"^[\s\d.,;\-\[\]()]*$")
MASK_TASKS = {"change_detection_localization", "change_detection_detection", "spatial_referring_expression"}


@dataclass(frozen=True)
class Item:
    """One answer with its ground truth; polygons (flat x, y lists) on TEOChat's 256 grid."""

    prediction: str
    answer: str
    task: str
    dataset: str
    predicted: Sequence[Sequence[float]] = ()
    truth: Sequence[Sequence[float]] = ()


@dataclass
class TaskScore(Result):
    """One task's score under the metric TEOChat reports for it."""

    metric: str
    score: float
    count: int


@dataclass
class TeochatTemporalResult(Result):
    """Scores per `data set/task`; `count` is the number of items scored."""

    count: int
    per_task: dict[str, TaskScore]


def answer_boxes(text: str) -> np.ndarray:
    """The x1, y1, x2, y2 boxes of an answer, (N, 4): every bracketed group of a multiple of four numbers, or, in an
    answer of numbers alone ("10, 20, 30, 40" as "[10, 20, 30, 40]"), all of them."""
    groups = _GROUP.findall(text) or ([text] if _BOX_ONLY.match(text) else [])
    values = [[float(v) for v in _NUMBER.findall(group)] for group in groups]
    boxes = [v for group in values if group and len(group) % 4 == 0 for v in group]
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def rule(dataset: str, task: str) -> tuple[str, list[str] | None]:
    """The metric TEOChat reports for a data set's task and, for the class-weighted F1s, its classes."""
    dataset = dataset.lower()
    if task in MASK_TASKS:
        return "f1", None
    if task == "change_detection_classification":
        return "inv_w_f1", DAMAGE
    if task == "region_based_question_answering" and dataset.startswith("qfabric"):
        return "w_f1", DEVELOPMENT
    if task == "region_based_temporal_question_answering" and dataset.startswith("qfabric_rqa5"):
        return "w_f1", STATUS
    if task == "question_answering" and dataset.startswith("xbd"):
        return "keyword_accuracy", None
    return "accuracy", None


def mask(polygons: Sequence[Sequence[float]]) -> np.ndarray:
    """The 256 x 256 mask of polygons (flat x, y lists), filled with their outline."""
    image = Image.new("L", (GRID, GRID), 0)
    draw = ImageDraw.Draw(image)
    for polygon in polygons:
        draw.polygon([float(v) for v in polygon], outline=1, fill=1)
    return np.asarray(image, dtype=bool)


def f1(tp: float, fp: float, fn: float) -> float:
    """2PR / (P + R); 0.0 where precision or recall is undefined or both are zero."""
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def mask_f1(items: Sequence[Item]) -> float:
    tp = fp = fn = 0
    for item in items:
        truth = mask(item.truth) if "[" in item.answer else np.zeros((GRID, GRID), bool)
        predicted = mask(item.predicted)
        tp += int((truth & predicted).sum())
        fp += int((~truth & predicted).sum())
        fn += int((truth & ~predicted).sum())
    return f1(tp, fp, fn)


def class_weighted_f1(items: Sequence[Item], classes: list[str], inverse: bool) -> float:
    """Per-class pixel F1 over the items' regions, averaged weighted by (inverse) prevalence."""
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp, fp, fn, area of the true class
    for item in items:
        truth = teochat_clean(item.answer)
        if truth == "unclassified":
            continue
        area = int(mask(item.truth).sum())
        answered = teochat_clean(item.prediction)
        if answered == truth:
            stats[truth][0] += area
        else:
            if answered in classes:
                stats[answered][1] += area
            stats[truth][2] += area
        stats[truth][3] += area
    total = sum(s[3] for s in stats.values())
    scores = {c: f1(*stats[c][:3]) for c in classes}
    if inverse:
        weights = {c: total / stats[c][3] for c in classes if stats[c][3]}
    else:
        weights = {c: stats[c][3] / total for c in classes if total}
    norm = sum(weights.values()) if inverse else 1.0
    return sum(scores[c] * w for c, w in weights.items()) / norm if norm else 0.0


def _correct(item: Item, keywords: bool) -> bool:
    answered, truth = teochat_clean(item.prediction), teochat_clean(item.answer)
    return (keywords and any(k in answered and k in truth for k in KEYWORDS)) or answered == truth


def evaluate_teochat_temporal(items: Sequence[Item]) -> TeochatTemporalResult:
    """One TEOChat score per data set and task."""
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        groups[(item.dataset, item.task)].append(item)
    per_task = {}
    for (dataset, task), group in sorted(groups.items()):
        metric, classes = rule(dataset, task)
        if metric == "f1":
            score = mask_f1(group)
        elif classes is not None:
            score = class_weighted_f1(group, classes, inverse=metric == "inv_w_f1")
        else:
            flags = [_correct(item, metric == "keyword_accuracy") for item in group]
            score = sum(flags) / len(flags)
        per_task[f"{dataset}/{task}"] = TaskScore(metric, score, len(group))
    return TeochatTemporalResult(len(items), per_task)
