"""Upstream RSCoVLM's lenient answer rule (`compute_contain_acc` in its `rscovlm/eval/metric/metric.py`).

Both strings are lower-cased, stripped of surrounding whitespace and then of leading/trailing periods; the answer
is correct when the ground truth occurs in the prediction as a substring ("yes" in "yes, there is").
"""

from __future__ import annotations


def upstream_normalize(text: str) -> str:
    """`text.lower().strip().strip(".")`, as upstream normalises both sides."""
    return text.lower().strip().strip(".")


def contains_match(prediction: str, answer: str) -> bool:
    """True when the normalised ground truth is a substring of the normalised prediction."""
    return upstream_normalize(answer) in upstream_normalize(prediction)
