"""What the metric families' results share: dataclasses whose fields are the keys results.json holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Result:
    """A metric result; `to_dict` is its results.json form (field names as keys, nested results as dicts)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Accuracy(Result):
    """The share of correct answers in a group and the group's size."""

    accuracy: float
    count: int


def accuracy_table(groups: Mapping[str, Sequence[bool]]) -> dict[str, Accuracy]:
    """One Accuracy per group (non-empty lists of correctness flags), in sorted group order."""
    return {name: Accuracy(sum(flags) / len(flags), len(flags)) for name, flags in sorted(groups.items())}


def mean_accuracy(flags: Sequence[bool]) -> float:
    """The share of True flags; 0.0 for none."""
    return sum(flags) / len(flags) if flags else 0.0


def macro_accuracy(table: Mapping[str, Accuracy]) -> float:
    """The mean of the groups' accuracies; 0.0 for none."""
    return sum(a.accuracy for a in table.values()) / len(table) if table else 0.0
