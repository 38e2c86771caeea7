"""VHM-Eval scoring, suite by suite, by the rules of VHM's evaluation kit (fitzpchao/RSEvalKit,
`model_eval_mp.py`), which reproduces the VHM paper's tables (Pang et al., 2024, "VHM: Versatile and Honest
Vision Language Model for Remote Sensing Image Analysis", Tables 5, 7-8 and 11).

- presence (`presence_*`): the answer is read as "yes" when it contains "yes" and neither "no" nor "false", "no"
  for the reverse, else "unknown"; accuracy against the ground truth.
- color (`color_*`): spaces removed, lower case; the score of a question is the share of its ground-truth colours
  (comma-separated) that occur in the answer; the suite's score is the mean.
- multiple choice (`abspos_*`, `relpos_*`, `imgType_*`): the first of A-E in the answer must be one of the
  ground-truth letters.
- counting (`counting_*`): the first integer of the answer (or a number word up to ninety-nine); MAE, MAPE and
  exact accuracy, also per count range (0, 2], (2, 6], (6, 12], (12, inf).
- measurement (`gsd_*`, `obj_meas_*`): every number of the answer against the ground truth's, pairwise, when both
  hold as many; MAE and MAPE over the numbers; other answers are parsing failures.
- scene classification and RSVQA (`cls_*`, `RSVQA_*`): spaces removed, lower case; correct when the answer occurs
  in the ground truth.

Where the kit or upstream RSCoVLM break, the definition above is kept: the kit's presence test looks for "no" and
"false" case-sensitively (so "No." is "unknown"), here case-insensitively as upstream RSCoVLM does; the kit
crashes when a choice or a count cannot be read and upstream RSCoVLM's scorer when the counts are strings or the
numbers differ in length; here those answers are wrong (choices, classes), parsing failures (counts, numbers) or,
for classes and RSVQA, an empty answer is wrong (the kit's `"" in answer` is true).
Visual grounding (`VG_*`), building vectorisation (`bfv_*`) and multi-label classification (`mlc_*`) suites are
scored by `metrics.vhm_geometry`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rscovlm_eval.metrics.result import Accuracy, Result
from rscovlm_eval.metrics.vhm_geometry import grounding_scores, multi_label_scores, vectorisation_scores

KINDS = {
    "presence_": "presence",
    "color_": "color",
    "abspos_": "choice",
    "relpos_": "choice",
    "imgType_": "choice",
    "counting_": "counting",
    "gsd_": "measurement",
    "obj_meas_": "measurement",
    "cls_": "contains",
    "RSVQA_": "contains",
    "VG_": "grounding",
    "bfv_": "vectorisation",
    "mlc_": "multi_label",
}
COUNT_RANGES = ((2, "(0, 2]"), (6, "(2, 6]"), (12, "(6, 12]"), (float("inf"), "(12, inf)"))
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_UNITS += ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS = {"zero": 0, **{w: i + 1 for i, w in enumerate(_UNITS)}}
NUMBER_WORDS |= {t: 10 * (i + 2) for i, t in enumerate(_TENS)}
NUMBER_WORDS |= {f"{t}-{u}": 10 * (i + 2) + j + 1 for i, t in enumerate(_TENS) for j, u in enumerate(_UNITS[:9])}
_NUMBER = re.compile(r"[-+]?\d*\.?\d+")


def suite_kind(suite: str) -> str | None:
    """The scoring rule of a suite (file stem), or None when it is not scored here."""
    return next((kind for prefix, kind in KINDS.items() if suite.startswith(prefix)), None)


def presence_correct(prediction: str, answer: str) -> bool:
    text = prediction.lower()
    yes, no = "yes" in text, "no" in text or "false" in text
    read = "yes" if yes and not no else "no" if no and not yes else "unknown"
    return read == answer.lower().strip().strip(".")


def color_score(prediction: str, answer: str) -> float:
    text = prediction.replace(" ", "").lower()
    colours = answer.replace(" ", "").lower().split(",")
    return sum(c in text for c in colours) / len(colours)


def choice_correct(prediction: str, answer: str) -> bool:
    letter = next((c for c in prediction if c in "ABCDE"), None)
    return letter is not None and letter.lower() in answer.lower()


def contains_correct(prediction: str, answer: str) -> bool:
    text = prediction.replace(" ", "").lower()
    return bool(text) and text in answer.replace(" ", "").lower()


def parse_count(text: str) -> int | None:
    """The first integer of `text`, else the first number word (zero .. ninety-nine), else None."""
    match = re.search(r"\d+", text)
    if match:
        return int(match.group())
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
    return next((NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS), None)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class SuiteAccuracy(Result):
    """A per-question rule's mean score."""

    accuracy: float | None


@dataclass
class MeasurementScores(Result):
    mae: float | None
    mape: float | None
    parsing_failures: int


@dataclass
class CountingScores(Result):
    mae: float | None
    mape: float | None
    accuracy: float | None
    per_range: dict[str, Accuracy]
    parsing_failures: int


@dataclass
class VhmSuite:
    """One suite's rule, its scores and its number of questions."""

    kind: str
    scores: Result
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.scores.to_dict(), "count": self.count}


@dataclass
class VhmResult:
    """Scores per suite and the questions of suites without a rule here, per suite."""

    count: int
    per_suite: dict[str, VhmSuite]
    unscored: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        per_suite = {name: suite.to_dict() for name, suite in self.per_suite.items()}
        return {"count": self.count, "per_suite": per_suite, "unscored": self.unscored}


def counting_scores(predictions: Sequence[str], answers: Sequence[str]) -> CountingScores:
    errors, relative, failures = [], [], 0
    by_range: dict[str, list[bool]] = defaultdict(list)
    for prediction, answer in zip(predictions, answers, strict=True):
        truth, guess = parse_count(answer), parse_count(prediction)
        if truth is None:
            failures += 1
            continue
        by_range[next(name for limit, name in COUNT_RANGES if truth <= limit)].append(guess == truth)
        if guess is None:
            failures += 1
            continue
        errors.append(abs(guess - truth))
        relative.append(abs(guess - truth) / truth if truth else float(guess != truth))
    accuracy = _mean([f for v in by_range.values() for f in v])
    ranges = {name: Accuracy(sum(v) / len(v), len(v)) for name, v in by_range.items()}  # in order of appearance
    return CountingScores(_mean(errors), _mean(relative), accuracy, ranges, failures)


def measurement_scores(predictions: Sequence[str], answers: Sequence[str]) -> MeasurementScores:
    errors, relative, failures = [], [], 0
    for prediction, answer in zip(predictions, answers, strict=True):
        truth, guess = _NUMBER.findall(answer), _NUMBER.findall(prediction)
        if len(truth) != len(guess) or not truth:
            failures += 1
            continue
        for t, g in zip(map(float, truth), map(float, guess), strict=True):
            errors.append(abs(g - t))
            relative.append(abs(g - t) / abs(t) if t else float(g != t))
    return MeasurementScores(_mean(errors), _mean(relative), failures)


_PER_QUESTION = {
    "presence": presence_correct,
    "color": color_score,
    "choice": choice_correct,
    "contains": contains_correct,
}


def _suite_scores(kind: str, items: list[int], inputs: dict[str, Sequence]) -> Result:
    """The scores of one suite's items (indices into `inputs`) by its rule."""
    preds, truths = [inputs["predictions"][i] for i in items], [inputs["answers"][i] for i in items]
    if kind in _PER_QUESTION:
        return SuiteAccuracy(_mean([float(_PER_QUESTION[kind](p, t)) for p, t in zip(preds, truths, strict=True)]))
    if kind in ("counting", "measurement"):
        return counting_scores(preds, truths) if kind == "counting" else measurement_scores(preds, truths)
    if kind == "multi_label":
        return multi_label_scores(preds, truths, [inputs["questions"][i] for i in items])
    points = [inputs["points"][i] for i in items]
    if kind == "grounding":
        return grounding_scores(points, truths)
    return vectorisation_scores(points, truths, [inputs["sizes"][i] for i in items])


def evaluate_vhm(
    predictions: Sequence[str],
    answers: Sequence[str],
    suites: Sequence[str],
    questions: Sequence[str] | None = None,
    points: Sequence[np.ndarray | None] | None = None,
    sizes: Sequence[tuple[int, int]] | None = None,
) -> VhmResult:
    """Scores per suite; questions of suites without a rule here are counted in `unscored`.

    Multi-label suites need the `questions`; grounding and vectorisation suites the points each answer gives, in
    original pixels (None without any), and the images' (width, height) `sizes`.
    """
    n = len(predictions)
    inputs = {"predictions": predictions, "answers": answers, "questions": questions or [""] * n}
    inputs |= {"points": points or [None] * n, "sizes": sizes or [(0, 0)] * n}
    if any(len(values) != n for values in [suites, *inputs.values()]):
        raise ValueError("predictions, answers, suites, questions, points and sizes must have the same length")
    grouped: dict[str, list[int]] = defaultdict(list)
    for index, suite in enumerate(suites):
        grouped[suite].append(index)
    per_suite, unscored = {}, {}
    for suite, items in sorted(grouped.items()):
        kind = suite_kind(suite)
        if kind is None:
            unscored[suite] = len(items)
        else:
            per_suite[suite] = VhmSuite(kind, _suite_scores(kind, items, inputs), len(items))
    return VhmResult(n, per_suite, unscored)
