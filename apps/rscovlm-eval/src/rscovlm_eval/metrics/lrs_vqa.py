"""LRS-VQA scoring, by the benchmark's official rule.

An answer is correct when `gt.lower() == pred.lower()` exactly (no stripping of spaces or punctuation), or when some
pair of WordNet synsets of the two strings has path similarity > 0.8. Accuracy is reported overall, per category
and per source data set (FAIR, STAR, GLH-Bridge, read from the question id's prefix).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence

from rscovlm_eval.metrics.wordnet import load_wordnet

SOURCES = ("FAIR", "STAR", "GLH-Bridge")
SIMILARITY_THRESHOLD = 0.8


def source_of(question_id: str) -> str:
    """'GLH-Bridge_381' -> 'GLH-Bridge'; unknown prefixes -> 'other'."""
    prefix = question_id.rsplit("_", 1)[0]
    return prefix if prefix in SOURCES else "other"


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
    """The official LRS-VQA rule: case-insensitive exact match or WordNet path similarity > 0.8."""
    pred, gt = prediction.lower(), answer.lower()
    return gt == pred or wordnet_similar(gt, pred)


def _accuracy(flags: list[bool]) -> dict:
    return {"accuracy": sum(flags) / len(flags), "count": len(flags)}


def evaluate_lrs_vqa(
    predictions: Sequence[str], answers: Sequence[str], categories: Sequence[str], question_ids: Sequence[str]
) -> dict:
    """Accuracy overall, per category and per source."""
    if not len(predictions) == len(answers) == len(categories) == len(question_ids):
        raise ValueError("predictions, answers, categories and question_ids must have the same length")
    by_category: dict[str, list[bool]] = defaultdict(list)
    by_source: dict[str, list[bool]] = defaultdict(list)
    flags = []
    for prediction, answer, category, qid in zip(predictions, answers, categories, question_ids, strict=True):
        ok = lrs_correct(prediction, answer)
        flags.append(ok)
        by_category[category].append(ok)
        by_source[source_of(qid)].append(ok)
    return {
        "accuracy": sum(flags) / len(flags) if flags else 0.0,
        "count": len(flags),
        "per_category": {k: _accuracy(v) for k, v in sorted(by_category.items())},
        "per_source": {k: _accuracy(v) for k, v in sorted(by_source.items())},
    }
