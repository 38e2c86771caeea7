"""LRS-VQA rows: reading them, checking them against the real image, and their question variants.

A row (one JSONL line of the LRS-VQA benchmark) has `question_id, image, category, text, ground_truth, image_size`,
and for questions about one object also `hbox` (x1, y1, x2, y2 in original pixels), `rbox`, `abs_size`, `size_bin`.
`image_size` is not documented as [width, height] or [height, width]; the builder takes the image's real size from the
file and reports how `image_size` compared (`size_order`).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rs_data import Skipped

Variant = Literal["open", "mc"]
SizeOrder = Literal["width_height", "height_width", "mismatch"]

SHORT_ANSWER = "Answer the question using a single word or phrase."
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
LETTERS = "ABCDEFGHIJ"


class LRSVQARow(BaseModel):
    """One LRS-VQA question; unknown extra fields are kept but unused."""

    model_config = ConfigDict(extra="allow")

    question_id: str = Field(min_length=1)
    image: str = Field(min_length=1)
    category: str
    text: str = Field(min_length=1)
    ground_truth: str
    image_size: tuple[int, int]
    hbox: tuple[float, float, float, float] | None = None


def read_rows(path: str | Path) -> tuple[list[tuple[int, LRSVQARow]], list[Skipped]]:
    """(line number, row) for every valid line; every invalid line is skipped with its reason."""
    path = Path(path)
    rows: list[tuple[int, LRSVQARow]] = []
    skipped: list[Skipped] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, LRSVQARow.model_validate(json.loads(line))))
            except json.JSONDecodeError as error:
                skipped.append(Skipped(str(path), number, f"not JSON: {error}"))
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                skipped.append(Skipped(str(path), number, f"invalid row: {problems}"))
    return rows, skipped


def size_order(stated: Sequence[int], size: tuple[int, int]) -> SizeOrder:
    """How a row's `image_size` relates to the real (width, height); a square image counts as width_height."""
    if tuple(stated) == size:
        return "width_height"
    if tuple(stated) == size[::-1]:
        return "height_width"
    return "mismatch"


def question_stem(text: str) -> str:
    """The question without LRS-VQA's trailing short-answer instruction."""
    return re.sub(r"\s*" + re.escape(SHORT_ANSWER) + r"\s*$", "", text).strip()


def answer_pools(rows: Sequence[LRSVQARow]) -> dict[str, list[str]]:
    """Distinct answers per category (first spelling seen, compared case-insensitively): multiple-choice distractors."""
    pools: dict[str, dict[str, str]] = {}
    for row in rows:
        answer = row.ground_truth.strip()
        if answer:
            pools.setdefault(row.category, {}).setdefault(answer.lower(), answer)
    return {category: list(answers.values()) for category, answers in pools.items()}


def multiple_choice(
    row: LRSVQARow, pool: Sequence[str], num_choices: int, seed: int
) -> tuple[str, str, list[str]] | str:
    """The multiple-choice form of `row`: (question text, answer letter, choices), or the reason it has none.

    Distractors are other answers of the row's category; the draw depends only on `seed` and the question id, so a
    row gets the same choices whatever else is in the file. At least two distractors are required.
    """
    answer = row.ground_truth.strip()
    others = [a for a in pool if a.lower() != answer.lower()]
    if len(others) < 2:
        return f"multiple choice needs 2 distinct distractors; category {row.category!r} has {len(others)}"
    rng = np.random.default_rng([seed, zlib.crc32(row.question_id.encode())])
    picked = [others[i] for i in rng.choice(len(others), size=min(num_choices - 1, len(others)), replace=False)]
    choices = [answer, *picked]
    choices = [choices[i] for i in rng.permutation(len(choices))]
    letter = LETTERS[choices.index(answer)]
    listing = "\n".join(f"({LETTERS[i]}) {choice}" for i, choice in enumerate(choices))
    return f"{question_stem(row.text)}\n{listing}\n{MC_INSTRUCTION}", letter, choices
