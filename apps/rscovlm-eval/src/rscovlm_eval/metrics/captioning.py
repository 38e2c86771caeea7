"""Captioning metrics computed by pycocoevalcap 1.2 itself: BLEU-1..4, METEOR, ROUGE-L, CIDEr.

Captions go through pycocoevalcap's PTB tokenizer (Stanford CoreNLP, Java) exactly as in the COCO caption
evaluation. SPICE is left out: it downloads models on first use.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")


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
    scores["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return scores
