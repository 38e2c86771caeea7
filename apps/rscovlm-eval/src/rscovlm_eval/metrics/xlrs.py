"""XLRS-Bench VQA scoring (Wang et al., CVPR 2025, "XLRS-Bench: Could Your Multimodal LLMs Understand Extremely
Large Ultra-High-Resolution Remote Sensing Imagery?"): accuracy per L3 task and per L2 dimension, the macro average
over the L3 tasks (the paper's "Avg." for XLRS-Bench-lite) and the micro average over all questions.

An answer's letters are the standalone capitals A-D it contains (after an optional "The answer is"); a
single-answer question is right when the first of them is the ground truth, a multi-answer question (overall land
use classification) when the set of letters equals the ground truth's.

lmms-eval's `xlrs-lite` task (the pipeline XLRS-Bench's README runs) reads letters otherwise: unless the reply holds
a parenthesised letter, every a-e or A-E character counts, inside words too ("B. forest" gives B and E, "B, because
the road" all of A-E), and single-answer questions are also compared as sets. Replies that are letters alone score
the same under both; longer replies are scored here by the letters the reply actually names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rscovlm_eval.metrics.result import Accuracy, Result, accuracy_table, macro_accuracy, mean_accuracy

_LETTER = re.compile(r"(?<![A-Za-z])[A-D](?![A-Za-z])")


def answer_letters(text: str) -> list[str]:
    """The standalone option letters of an answer, in order ("(B) and D" -> ["B", "D"])."""
    return _LETTER.findall(text.replace("The answer is", ""))


def xlrs_correct(prediction: str, answer: str, multiple: bool) -> bool:
    letters, truth = answer_letters(prediction), answer.split()
    if multiple:
        return bool(letters) and set(letters) == set(truth)
    return bool(letters) and letters[0] == truth[0]


@dataclass
class XlrsResult(Result):
    """Micro accuracy, the macro average over L3 tasks, and accuracy per L3 task and per L2 dimension."""

    accuracy: float
    average_accuracy: float
    count: int
    per_type: dict[str, Accuracy]
    per_dimension: dict[str, Accuracy]


def evaluate_xlrs(
    predictions: Sequence[str],
    answers: Sequence[str],
    tasks: Sequence[str],
    dimensions: Sequence[str | None],
    multiple: Sequence[bool],
) -> XlrsResult:
    """Micro accuracy, macro accuracy over L3 tasks, and both tables."""
    if not len(predictions) == len(answers) == len(tasks) == len(dimensions) == len(multiple):
        raise ValueError("predictions, answers, tasks, dimensions and multiple must have the same length")
    by_task: dict[str, list[bool]] = defaultdict(list)
    by_dimension: dict[str, list[bool]] = defaultdict(list)
    for prediction, answer, task, dimension, many in zip(
        predictions, answers, tasks, dimensions, multiple, strict=True
    ):
        ok = xlrs_correct(prediction, answer, many)
        by_task[task].append(ok)
        by_dimension[dimension or "all"].append(ok)
    flags = [f for v in by_task.values() for f in v]
    per_task = accuracy_table(by_task)
    return XlrsResult(
        mean_accuracy(flags), macro_accuracy(per_task), len(flags), per_task, accuracy_table(by_dimension)
    )
