"""Multiple-choice letter accuracy (MME-RealWorld remote-sensing subset)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rscovlm_eval.metrics.result import Accuracy, Result, accuracy_table, mean_accuracy

# MME-RealWorld's own lead-in list; two pairs of its entries lack a separating comma there, so they are joined.
_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option isThe correct option is",
    "Best answer:Best option:",
)


def extract_choice(text: str, choices: Sequence[str] = (), letters: str = "ABCDE") -> str | None:
    """The option letter an answer chooses, by MME-RealWorld's scorer; None when there is none.

    Lead-ins ("The answer is") are removed; a reply of more than ten words without an option letter is unclear;
    otherwise the first capital option letter anywhere wins ("(B) farmland" -> "B"). Failing that, the first choice
    ("(C) river") that contains the reply gives its letter.
    """
    text = text.strip()
    for prefix in _PREFIXES:
        text = text.replace(prefix, "")
    match = re.search(f"[{letters}]", text)
    if match:
        return match.group()
    if len(text.split()) > 10:
        return None
    return next((choice[1] for choice in choices if text.lower() in choice.lower() and len(choice) > 1), None)


@dataclass
class MultipleChoiceResult(Result):
    """Accuracy overall and per category, and the answers in which no option letter was found."""

    accuracy: float
    count: int
    no_letter: int
    per_category: dict[str, Accuracy]


def evaluate_multiple_choice(
    predictions: Sequence[str],
    answers: Sequence[str],
    categories: Sequence[str | None],
    choices: Sequence[Sequence[str]] | None = None,
) -> MultipleChoiceResult:
    """Accuracy overall and per category (lower-cased, as the official scorer); answers are option letters."""
    if not len(predictions) == len(answers) == len(categories):
        raise ValueError("predictions, answers and categories must have the same length")
    choices = choices if choices is not None else [()] * len(predictions)
    by_category: dict[str, list[bool]] = defaultdict(list)
    unclear = 0
    for prediction, answer, category, options in zip(predictions, answers, categories, choices, strict=True):
        letter = extract_choice(prediction, options)
        unclear += letter is None
        by_category[(category or "all").lower()].append(letter == answer.strip())
    flat = [c for values in by_category.values() for c in values]
    return MultipleChoiceResult(mean_accuracy(flat), len(flat), unclear, accuracy_table(by_category))
