"""Captioning metrics computed by pycocoevalcap 1.2 itself: BLEU-1..4, METEOR, ROUGE-L, CIDEr; and ROUGE-1.

Captions go through pycocoevalcap's PTB tokenizer (Stanford CoreNLP, Java) exactly as in the COCO caption
evaluation. SPICE is left out: it downloads models on first use.

ROUGE-1, which GeoChat reports beside ROUGE-L and METEOR for region captioning (Kuckreja et al., CVPR 2024, "GeoChat:
Grounded Large Vision-Language Model for Remote Sensing", region captioning), is pycocoevalcap-free: the unigram ROUGE-N
of Lin (2004, "ROUGE: A Package for Automatic Evaluation of Summaries") on the same PTB tokens, as the F1 of clipped
unigram precision and recall, the best over a sample's references, averaged over the samples.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-1", "ROUGE-L", "CIDEr")


class JavaMissingError(RuntimeError):
    """pycocoevalcap's tokenizer and METEOR need a Java runtime."""


def _require_java() -> None:
    if shutil.which("java") is None:
        raise JavaMissingError(
            "captioning metrics need Java (pycocoevalcap's PTB tokenizer and METEOR): "
            "install it, e.g. `apt-get install default-jre-headless`"
        )


@dataclass
class CaptioningResult:
    """Corpus-level scores keyed by METRIC_NAMES (none for no samples) and the number of samples."""

    count: int
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.scores, "count": self.count}


def rouge_1(candidate: str, references: Sequence[str]) -> float:
    """ROUGE-1 F1 of a tokenised candidate (words split on spaces), the best over the references."""
    words = Counter(candidate.split())
    best = 0.0
    for reference in references:
        truth = Counter(reference.split())
        overlap = sum((words & truth).values())
        if overlap:
            precision, recall = overlap / sum(words.values()), overlap / sum(truth.values())
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def evaluate_captions(references: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> dict[str, float]:
    """Corpus-level scores keyed by METRIC_NAMES; both mappings are keyed by sample id."""
    if set(references) != set(predictions):
        missing = sorted(set(references) ^ set(predictions))[:5]
        raise ValueError(f"references and predictions cover different ids, e.g. {missing}")
    if not references:
        return {}
    empty = sorted(k for k, refs in references.items() if not refs)[:5]
    if empty:
        raise ValueError(f"samples without reference captions: {empty}")
    _require_java()
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({k: [{"caption": c} for c in refs] for k, refs in references.items()})
    res = tokenizer.tokenize({k: [{"caption": predictions[k]}] for k in references})
    scores: dict[str, float] = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores.update({f"BLEU-{n}": float(value) for n, value in enumerate(bleu, start=1)})
    scores["METEOR"] = float(Meteor().compute_score(gts, res)[0])  # its Java process ends with the object
    scores["ROUGE-1"] = sum(rouge_1(res[k][0], gts[k]) for k in gts) / len(gts)
    scores["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return scores
