"""LRS-VQA scoring, by the benchmark's official rule and report.

LRS-VQA's pipeline (VisionXLab/LRS-VQA) strips every model answer before scoring; its scorer then counts an answer
correct when `gt.lower() == pred.lower()` or when some pair of WordNet synsets of the two strings has path similarity
> 0.8. `normalize_lrs_answer` is that one normalisation, applied alike to plain and Zoom-in Chain answers (and to the
ground truth). Upstream RSCoVLM's scorer also strips leading/trailing periods (`.strip(".")`); the official rule
does not, so "urban." is wrong here.

Reported as the official scorer does, per source data set (FAIR, STAR, GLH-Bridge, from the question id's prefix):
the overall accuracy (OA: share of that source's questions answered correctly), the average accuracy (AA: mean of
that source's per-category accuracies, over the categories it has) and the source x category table.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rscovlm_eval.metrics.result import Accuracy, Result, accuracy_table, macro_accuracy, mean_accuracy
from rscovlm_eval.metrics.wordnet import load_wordnet

SOURCES = ("FAIR", "STAR", "GLH-Bridge")
SIMILARITY_THRESHOLD = 0.8


def source_of(question_id: str) -> str:
    """'GLH-Bridge_381' -> 'GLH-Bridge'; unknown prefixes -> 'other'."""
    prefix = question_id.rsplit("_", 1)[0]
    return prefix if prefix in SOURCES else "other"


def normalize_lrs_answer(text: str) -> str:
    """The official pipeline's normalisation: surrounding whitespace stripped, lower case."""
    return text.strip().lower()


@functools.lru_cache(maxsize=65536)
def wordnet_similar(a: str, b: str, threshold: float = SIMILARITY_THRESHOLD) -> bool:
    """True when some synset pair of `a` and `b` has path similarity above `threshold`."""
    wordnet = load_wordnet()
    synsets_b = wordnet.synsets(b)
    for first in wordnet.synsets(a):
        for second in synsets_b:
            similarity = first.path_similarity(second)
            if similarity is not None and similarity > threshold:
                return True
    return False


def lrs_correct(prediction: str, answer: str) -> bool:
    """The official LRS-VQA rule on normalised answers: exact match or WordNet path similarity > 0.8."""
    pred, gt = normalize_lrs_answer(prediction), normalize_lrs_answer(answer)
    return gt == pred or wordnet_similar(gt, pred)


@dataclass
class LrsSummary(Result):
    """OA over every question, AA as the mean of the category accuracies, and the categories themselves."""

    accuracy: float
    average_accuracy: float
    count: int
    per_category: dict[str, Accuracy]


@dataclass
class LrsVqaResult(LrsSummary):
    """The summary over all sources, and one per source."""

    per_source: dict[str, LrsSummary]
    normalisation: str = "strip, lower case (both answers)"


def _summary(by_category: dict[str, list[bool]]) -> LrsSummary:
    flags = [f for values in by_category.values() for f in values]
    categories = accuracy_table(by_category)
    return LrsSummary(mean_accuracy(flags), macro_accuracy(categories), len(flags), categories)


def evaluate_lrs_vqa(
    predictions: Sequence[str], answers: Sequence[str], categories: Sequence[str], question_ids: Sequence[str]
) -> LrsVqaResult:
    """OA and AA overall and per source, accuracy per category, and the source x category table (`per_source`)."""
    if not len(predictions) == len(answers) == len(categories) == len(question_ids):
        raise ValueError("predictions, answers, categories and question_ids must have the same length")
    by_category: dict[str, list[bool]] = defaultdict(list)
    by_source: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for prediction, answer, category, qid in zip(predictions, answers, categories, question_ids, strict=True):
        ok = lrs_correct(prediction, answer)
        by_category[category].append(ok)
        by_source[source_of(qid)][category].append(ok)
    overall = _summary(by_category)
    per_source = {source: _summary(table) for source, table in sorted(by_source.items())}
    return LrsVqaResult(**vars(overall), per_source=per_source)
