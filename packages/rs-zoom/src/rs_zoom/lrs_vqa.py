"""LRS-VQA questions for the builder: read by rs-data's `lrs-vqa` reader (the one parser of the format) or its
`visual-cot` reader (upstream's zoom training files), checked against the real image, and their question variants.

A row (one JSONL line of the LRS-VQA benchmark) has `question_id, image, category, text, ground_truth, image_size`,
and for questions about one object also `hbox`, `rbox`, `abs_size`, `size_bin`. The reader takes the evidence from
`rbox` (else `hbox`) and the image size from the file; `image_size` is not documented as [width, height] or
[height, width], so the builder reports how it compared with the file (`size_order`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from rs_data import Record, Skipped
from rs_data.readers import lrs_vqa, visual_cot
from rs_data.readers.entries import Entry

Variant = Literal["open", "mc"]
SourceFormat = Literal["lrs-vqa", "visual-cot"]
READERS = {"lrs-vqa": lrs_vqa, "visual-cot": visual_cot}
SizeOrder = Literal["width_height", "height_width", "mismatch"]

SHORT_ANSWER = "Answer the question using a single word or phrase."
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
LETTERS = "ABCDEFGHIJ"

SKIP_KINDS = (
    ("image not found", "image not found"),
    ("unreadable image", "image unreadable"),
    ("polygon lies outside", "evidence box outside the image"),
    ("invalid polygon", "invalid evidence"),
)


@dataclass(frozen=True)
class Question:
    """One LRS-VQA row as rs-data reads it, with the line it came from (None for an entry of a JSON list)."""

    line: int | None
    record: Record

    @property
    def question_id(self) -> str:
        return self.record.id

    @property
    def category(self) -> str:
        return self.record.annotation.question_type or ""

    @property
    def text(self) -> str:
        return self.record.annotation.question

    @property
    def ground_truth(self) -> str:
        return self.record.annotation.answer

    @property
    def image_path(self) -> Path:
        return Path(self.record.images[0].path)


def skip_kind(reason: str) -> str:
    """The builder's name for a kind of reader skip (the manifest counts skips by kind)."""
    return next((kind for part, kind in SKIP_KINDS if part in reason), "invalid row")


def read_questions(
    src: str | Path, images_dir: str | Path, source_format: SourceFormat = "lrs-vqa"
) -> tuple[list[Question], list[tuple[Skipped, str]], int]:
    """Every row of `src` the reader of `source_format` accepts (images looked up under `images_dir`), every skip with
    its kind, and the number of rows."""
    reader = READERS[source_format]
    context, units = reader.prepare(Path(src), images=images_dir)
    questions, skipped = [], []
    for unit in units:
        result = reader.read_unit(context, unit)
        line = unit.line if isinstance(unit, Entry) else unit[0]
        questions.extend(Question(line, record) for record in result.records)
        skipped.extend((skip, skip_kind(skip.reason)) for skip in result.skipped)
    return questions, skipped, len(units)


def size_order(stated: Sequence[int] | None, size: tuple[int, int]) -> SizeOrder:
    """How a row's `image_size` relates to the real (width, height); a square image counts as width_height."""
    if stated is not None and tuple(stated) == size:
        return "width_height"
    if stated is not None and tuple(stated) == size[::-1]:
        return "height_width"
    return "mismatch"


def question_stem(text: str) -> str:
    """The question without LRS-VQA's trailing short-answer instruction."""
    return re.sub(r"\s*" + re.escape(SHORT_ANSWER) + r"\s*$", "", text).strip()


def answer_pools(questions: Sequence[Question]) -> dict[str, list[str]]:
    """Distinct answers per category (first spelling seen, compared case-insensitively): multiple-choice distractors."""
    pools: dict[str, dict[str, str]] = {}
    for question in questions:
        answer = question.ground_truth.strip()
        if answer:
            pools.setdefault(question.category, {}).setdefault(answer.lower(), answer)
    return {category: list(answers.values()) for category, answers in pools.items()}


def multiple_choice(
    question: Question, pool: Sequence[str], num_choices: int, seed: int
) -> tuple[str, str, list[str]] | str:
    """The multiple-choice form of `question`: (question text, answer letter, choices), or the reason it has none.

    Distractors are other answers of the question's category; the draw depends only on `seed` and the question id, so
    a question gets the same choices whatever else is in the file. At least two distractors are required.
    """
    answer = question.ground_truth.strip()
    others = [a for a in pool if a.lower() != answer.lower()]
    if len(others) < 2:
        return f"multiple choice needs 2 distinct distractors; category {question.category!r} has {len(others)}"
    rng = np.random.default_rng([seed, zlib.crc32(question.question_id.encode())])
    picked = [others[i] for i in rng.choice(len(others), size=min(num_choices - 1, len(others)), replace=False)]
    choices = [answer, *picked]
    choices = [choices[i] for i in rng.permutation(len(choices))]
    letter = LETTERS[choices.index(answer)]
    listing = "\n".join(f"({LETTERS[i]}) {choice}" for i, choice in enumerate(choices))
    return f"{question_stem(question.text)}\n{listing}\n{MC_INSTRUCTION}", letter, choices
