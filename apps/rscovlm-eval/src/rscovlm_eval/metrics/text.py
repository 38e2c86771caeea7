"""Answer normalisation shared by the text metrics."""

from __future__ import annotations

import re

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Lower-case, '-' and '_' as spaces, punctuation removed, whitespace collapsed.

    "Dense-Residential." -> "dense residential"; "storage_tanks" -> "storage tanks".
    """
    text = text.lower().replace("-", " ").replace("_", " ")
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
