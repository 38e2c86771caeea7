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

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def teochat_clean(text: str) -> str:
    """Lower case, ASCII punctuation removed (spaces kept)."""
    return text.lower().translate(_PUNCTUATION)


def evaluate_teochat(
    predictions: Sequence[str], answers: Sequence[str], tasks: Sequence[str], datasets: Sequence[str]
) -> dict:
    """Accuracy overall and per data set and task."""
    if not len(predictions) == len(answers) == len(tasks) == len(datasets):
        raise ValueError("predictions, answers, tasks and datasets must have the same length")
    groups: dict[str, list[bool]] = defaultdict(list)
    flags = []
    for prediction, answer, task, dataset in zip(predictions, answers, tasks, datasets, strict=True):
        ok = teochat_clean(prediction) == teochat_clean(answer)
        flags.append(ok)
        groups[f"{dataset}/{task}"].append(ok)
    return {
        "accuracy": sum(flags) / len(flags) if flags else 0.0,
        "count": len(flags),
        "per_type": {k: {"accuracy": sum(v) / len(v), "count": len(v)} for k, v in sorted(groups.items())},
    }
