"""VQA: accuracy per question type and overall, by exact match after normalisation or by upstream RSCoVLM's
contains rule (`metrics.contains`); MAE on counting questions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from rscovlm_eval.metrics.contains import contains_match
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


def evaluate_vqa(
    predictions: Sequence[str],
    answers: Sequence[str],
    question_types: Sequence[str | None],
    count_types: Sequence[str] = ("count", "counting", "object quantity", "object_quantity"),
    match: Literal["exact", "contains"] = "exact",
) -> dict:
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
    per_type = {k: {"accuracy": sum(v) / len(v), "count": len(v)} for k, v in sorted(correct.items())}
    result = {
        "accuracy": sum(flat) / len(flat) if flat else 0.0,
        "average_accuracy": sum(t["accuracy"] for t in per_type.values()) / len(per_type) if per_type else 0.0,
        "count": len(flat),
        "match": match,
        "per_type": per_type,
    }
    if errors or unparsed:
        result["count_mae"] = sum(errors) / len(errors) if errors else None
        result["count_scored"] = len(errors)
        result["count_unparsed"] = unparsed
    return result
