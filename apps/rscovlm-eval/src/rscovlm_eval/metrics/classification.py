"""Scene classification: exact accuracy after normalisation, contain-match accuracy, per class, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rscovlm_eval.metrics.text import normalize_answer

UNMATCHED = "(unmatched)"


def match_class(prediction: str, classes: Sequence[str]) -> str:
    """The class the prediction names exactly (after normalisation), or UNMATCHED."""
    norm = normalize_answer(prediction)
    for name in classes:
        if normalize_answer(name) == norm:
            return name
    return UNMATCHED


def contains_label(prediction: str, label: str) -> bool:
    """Upstream's lenient rule: the normalised label occurs inside the normalised prediction."""
    return normalize_answer(label) in normalize_answer(prediction)


@dataclass
class ClassificationResult:
    accuracy: float
    contain_accuracy: float
    per_class: dict[str, dict[str, float]]
    classes: list[str]
    confusion: np.ndarray  # (C, C + 1): rows = truth, columns = predicted class, last column = UNMATCHED
    count: int

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "contain_accuracy": self.contain_accuracy,
            "count": self.count,
            "per_class": self.per_class,
            "confusion": {
                "rows": self.classes,
                "columns": [*self.classes, UNMATCHED],
                "matrix": self.confusion.tolist(),
            },
        }


def evaluate_classification(
    predictions: Sequence[str], labels: Sequence[str], classes: Sequence[str] | None = None
) -> ClassificationResult:
    """Score predictions against ground-truth labels; `classes` defaults to the sorted set of labels."""
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    classes = list(classes) if classes is not None else sorted(set(labels))
    index = {normalize_answer(c): i for i, c in enumerate(classes)}
    missing = sorted({lab for lab in labels if normalize_answer(lab) not in index})
    if missing:
        raise ValueError(f"labels not in the class list: {missing}")
    confusion = np.zeros((len(classes), len(classes) + 1), dtype=np.int64)
    exact = contain = 0
    for prediction, label in zip(predictions, labels, strict=True):
        row = index[normalize_answer(label)]
        matched = match_class(prediction, classes)
        column = len(classes) if matched == UNMATCHED else index[normalize_answer(matched)]
        confusion[row, column] += 1
        exact += column == row
        contain += contains_label(prediction, label)
    totals = confusion.sum(axis=1)
    per_class = {
        name: {"accuracy": float(confusion[i, i] / totals[i]), "count": int(totals[i])}
        for i, name in enumerate(classes)
        if totals[i]
    }
    n = len(labels)
    return ClassificationResult(
        accuracy=exact / n if n else 0.0,
        contain_accuracy=contain / n if n else 0.0,
        per_class=per_class,
        classes=classes,
        confusion=confusion,
        count=n,
    )
