"""VQA: accuracy per question type and overall, by exact match after normalisation or by upstream RSCoVLM's
contains rule (`metrics.contains`); MAE on counting questions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rscovlm_eval.metrics.contains import contains_match
from rscovlm_eval.metrics.result import Accuracy, accuracy_table, macro_accuracy, mean_accuracy
from rscovlm_eval.metrics.text import normalize_answer

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_count(text: str) -> float | None:
    """The first number in an answer ("3", "about 12 cars", "three"), or None when there is none."""
    match = _NUMBER.search(text.replace(",", ""))
    if match:
        return float(match.group())
    for word in normalize_answer(text).split():
        if word in _NUMBER_WORDS:
            return float(_NUMBER_WORDS[word])
    return None


def answers_match(prediction: str, answer: str) -> bool:
    """Exact match after normalisation (case, punctuation, spacing); "Yes." matches "yes"."""
    return normalize_answer(prediction) == normalize_answer(answer)


@dataclass
class CountErrors:
    """MAE over counting questions with a number in both answers, and the predictions without one."""

    mae: float | None
    scored: int
    unparsed: int


@dataclass
class VqaResult:
    """Overall accuracy (OA), the mean of the per-type accuracies (AA), the answer rule and the counting errors."""

    accuracy: float
    average_accuracy: float
    count: int
    match: str
    per_type: dict[str, Accuracy]
    counting: CountErrors | None = None  # None when no counting question had a numeric answer

    def to_dict(self) -> dict[str, Any]:
        result = {
            "accuracy": self.accuracy,
            "average_accuracy": self.average_accuracy,
            "count": self.count,
            "match": self.match,
            "per_type": {k: v.to_dict() for k, v in self.per_type.items()},
        }
        if self.counting is not None:
            c = self.counting
            result |= {"count_mae": c.mae, "count_scored": c.scored, "count_unparsed": c.unparsed}
        return result


def evaluate_vqa(
    predictions: Sequence[str],
    answers: Sequence[str],
    question_types: Sequence[str | None],
    count_types: Sequence[str] = ("count", "counting", "object quantity", "object_quantity"),
    match: Literal["exact", "contains"] = "exact",
) -> VqaResult:
    """Accuracy overall and per question type (answers compared by `match`), plus MAE over counting questions with
    numeric answers.

    A counting prediction without a number is counted in `count_unparsed` and left out of the MAE.
    """
    if not len(predictions) == len(answers) == len(question_types):
        raise ValueError("predictions, answers and question_types must have the same length")
    correct: dict[str, list[bool]] = defaultdict(list)
    errors: list[float] = []
    unparsed = 0
    rule = contains_match if match == "contains" else answers_match
    for prediction, answer, qtype in zip(predictions, answers, question_types, strict=True):
        qtype = qtype or "all"
        correct[qtype].append(rule(prediction, answer))
        if qtype.lower() in count_types:
            truth, guess = parse_count(answer), parse_count(prediction)
            if truth is None:
                continue
            if guess is None:
                unparsed += 1
            else:
                errors.append(abs(guess - truth))
    flat = [c for values in correct.values() for c in values]
    per_type = accuracy_table(correct)
    counting = None
    if errors or unparsed:
        counting = CountErrors(sum(errors) / len(errors) if errors else None, len(errors), unparsed)
    return VqaResult(mean_accuracy(flat), macro_accuracy(per_type), len(flat), match, per_type, counting)
