"""TEOChatlas classification and question answering, by TEOChat's rule (Irvin et al., 2025, "TEOChat: A Large
Vision-Language Assistant for Temporal Earth Observation Data"; `classification_metrics` of its evaluation code,
which upstream RSCoVLM reuses): answer and ground truth lower-cased and stripped of ASCII punctuation must be equal;
accuracy per data set and task.

Upstream RSCoVLM's loader returns nothing for the GeoChat subset (its `prepare_teochatlas_eval` is a generator, so
the subset's `return` yields no items); here the subset is read and scored by this rule.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rscovlm_eval.metrics.result import Accuracy, Result, accuracy_table, mean_accuracy

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def teochat_clean(text: str) -> str:
    """Lower case, ASCII punctuation removed (spaces kept)."""
    return text.lower().translate(_PUNCTUATION)


@dataclass
class TeochatResult(Result):
    """Accuracy overall and per `data set/task`."""

    accuracy: float
    count: int
    per_type: dict[str, Accuracy]


def evaluate_teochat(
    predictions: Sequence[str], answers: Sequence[str], tasks: Sequence[str], datasets: Sequence[str]
) -> TeochatResult:
    """Accuracy overall and per data set and task."""
    if not len(predictions) == len(answers) == len(tasks) == len(datasets):
        raise ValueError("predictions, answers, tasks and datasets must have the same length")
    groups: dict[str, list[bool]] = defaultdict(list)
    flags = []
    for prediction, answer, task, dataset in zip(predictions, answers, tasks, datasets, strict=True):
        ok = teochat_clean(prediction) == teochat_clean(answer)
        flags.append(ok)
        groups[f"{dataset}/{task}"].append(ok)
    return TeochatResult(mean_accuracy(flags), len(flags), accuracy_table(groups))
