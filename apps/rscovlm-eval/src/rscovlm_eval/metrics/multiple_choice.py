"""Multiple-choice letter accuracy (MME-RealWorld remote-sensing subset)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is",
    "The correct option is",
    "Best answer:",
    "Best option:",
    "Answer:",
)


def extract_choice(text: str, letters: str = "ABCDE") -> str | None:
    """The option letter an answer chooses, by MME-RealWorld's rule; None when there is none.

    Common lead-ins ("The answer is", "Answer:") are removed, a reply of more than ten words without any option
    letter is unclear, otherwise the first capital option letter anywhere wins: "(B) farmland" -> "B".
    """
    for prefix in _PREFIXES:
        text = text.replace(prefix, "")
    match = re.search(f"[{letters}]", text.strip())
    return match.group() if match else None


def evaluate_multiple_choice(
    predictions: Sequence[str], answers: Sequence[str], categories: Sequence[str | None]
) -> dict:
    """Accuracy overall and per category; answers are option letters."""
    if not len(predictions) == len(answers) == len(categories):
        raise ValueError("predictions, answers and categories must have the same length")
    by_category: dict[str, list[bool]] = defaultdict(list)
    unclear = 0
    for prediction, answer, category in zip(predictions, answers, categories, strict=True):
        letter = extract_choice(prediction)
        unclear += letter is None
        by_category[category or "all"].append(letter == extract_choice(answer))
    flat = [c for values in by_category.values() for c in values]
    return {
        "accuracy": sum(flat) / len(flat) if flat else 0.0,
        "count": len(flat),
        "no_letter": unclear,
        "per_category": {k: {"accuracy": sum(v) / len(v), "count": len(v)} for k, v in sorted(by_category.items())},
    }
