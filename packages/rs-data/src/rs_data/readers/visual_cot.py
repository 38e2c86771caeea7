"""Upstream RSCoVLM's visual-CoT training files for LRS-VQA-Zoom (open-ended and multiple-choice JSON lists).

An entry is `{"image", "image_ori_width", "image_ori_height", "bbox_info": {"crop_hbox": [[x1, y1, x2, y2], ...],
"rbox": ...}}` plus either `question` / `answer` (open-ended) or `Text` / `Ground truth` / `Answer choices`
(multiple choice; the question is rebuilt as upstream words it, without LRS-VQA's short-answer sentence). Boxes are
in original pixels. Each entry becomes a `uhr_vqa` record whose evidence is its crop boxes and whose
`meta["crop_hbox"]` keeps them as given: an entry with exactly one crop box is a zoom example (training makes it a
Zoom-in Chain that cuts exactly that box, in memory, with `rs_zoom.visual_cot_chain`; `rs-zoom build` writes the same
chain as files), the others (counting, comparisons) plain questions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from rs_resolution import hbb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, clean_polygon, image_ref
from rs_data.readers.entries import BadEntry, Entry, annotated_size, read_entries
from rs_data.readers.lrs_vqa import LRSContext
from rs_data.schema import Record, VQAAnnotation

SHORT_ANSWER = "Answer the question using a single word or phrase."
CHOICES_INTRO = " The choices are listed below: \n"
CHOICES_OUTRO = (
    "Select the best answer to the above multiple-choice question based on the image. Respond with only the letter "
    "(A, B, C, D, or E) of the correct option.\nThe best answer is:"
)
CHOICE_LETTER = re.compile(r"^\(?([A-J])[).:]")


def prepare(
    src: Path,
    images: str | Path | None = None,
    check_images: bool = True,
    dataset: str = "lrs-vqa-zoom",
    split: str | None = None,
) -> tuple[LRSContext, list[Entry]]:
    """`src` is one training file; images under `images` (default: the file's folder), found by path or file name."""
    image_dir = Path(images) if images else src.parent
    return LRSContext(dataset, str(src), ImageIndex(image_dir), check_images, split, frozenset()), read_entries(src)


def multiple_choice_question(text: str, choices: list[str]) -> str:
    """Upstream's multiple-choice prompt: the stem, the listed choices, then the instruction to answer by letter."""
    stem = text.rstrip()
    stem = stem.removesuffix(SHORT_ANSWER).rstrip()
    return stem + CHOICES_INTRO + "".join(f"{choice}\n" for choice in choices) + CHOICES_OUTRO


def _question(entry: dict[str, Any]) -> tuple[str, str, list[str] | None]:
    if "question" in entry and "answer" in entry:
        return str(entry["question"]), str(entry["answer"]), None
    if {"Text", "Ground truth", "Answer choices"} <= entry.keys():
        choices = entry["Answer choices"]
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise BadEntry("'Answer choices' must list at least two strings")
        answer = str(entry["Ground truth"]).strip()
        letters = [m.group(1) for m in (CHOICE_LETTER.match(c.strip()) for c in choices) if m]
        if letters and answer not in letters:
            raise BadEntry(f"ground truth {answer!r} is not one of the choice letters {letters}")
        return multiple_choice_question(str(entry["Text"]), choices), answer, choices
    raise BadEntry("needs 'question' and 'answer', or 'Text', 'Ground truth' and 'Answer choices'")


def _crop_boxes(entry: dict[str, Any]) -> list[list[float]]:
    info = entry.get("bbox_info")
    boxes = info.get("crop_hbox") if isinstance(info, dict) else None
    if not isinstance(boxes, list):
        raise BadEntry("needs 'bbox_info.crop_hbox', a list of [x1, y1, x2, y2] boxes")
    return checked_crop_boxes(boxes)


def checked_crop_boxes(boxes: list[Any]) -> list[list[float]]:
    """Crop boxes as floats, each checked to be x1, y1, x2, y2 with x2 > x1 and y2 > y1 (`BadEntry` otherwise)."""
    checked = []
    for box in boxes:
        values = np.asarray(box, dtype=np.float64).reshape(-1) if isinstance(box, list) else np.empty(0)
        if values.size != 4 or not np.isfinite(values).all() or values[2] <= values[0] or values[3] <= values[1]:
            raise BadEntry(f"crop box {box!r} is not x1, y1, x2, y2 with x2 > x1 and y2 > y1")
        checked.append(values.tolist())
    return checked


def read_unit(context: LRSContext, entry: Entry) -> ReadResult:
    result, source, row = ReadResult(), context.source, entry.value
    if entry.error is not None or not isinstance(row, dict):
        result.skipped.append(entry.skip(source, entry.error or "not a JSON object"))
        return result
    try:
        if not isinstance(row.get("image"), str) or not row["image"]:
            raise BadEntry("needs an 'image' path")
        question, answer, choices = _question(row)
        boxes = _crop_boxes(row)
        size = annotated_size(row, "image_ori_width", "image_ori_height")
    except (BadEntry, TypeError, ValueError) as error:
        result.skipped.append(entry.skip(source, str(error)))
        return result
    name = row["image"]
    path = context.images.find(name)
    if path is not None:
        image = image_ref(path, source, entry.line, result.skipped, size)
    else:
        expected = context.images.expected(name)
        image = image_ref(None, source, entry.line, result.skipped, size, context.check_images, name, expected)
    if image is None:
        return result
    identifier = row.get("question_id", row.get("id", entry.index))
    evidence = []
    for box in boxes:
        what = f"question {identifier}"
        polygon = clean_polygon(hbb_to_poly(np.asarray(box)), image, source, entry.line, what, result.skipped)
        if polygon is None:
            return result
        evidence.append(polygon)
    meta = {"crop_hbox": boxes, "variant": "open" if choices is None else "mc"}
    if size is not None:
        meta["image_size"] = list(size)
    category = str(row["category"]) if "category" in row else None
    annotation = VQAAnnotation(
        question=question, answer=answer, question_type=category, choices=choices, evidence=evidence
    )
    result.records.append(
        Record(
            id=str(identifier),
            dataset=context.dataset,
            task="uhr_vqa",
            images=[image],
            annotation=annotation,
            split=context.split,
            meta=meta,
        )
    )
    return result


READER = Reader(
    "visual-cot",
    "upstream LRS-VQA-Zoom visual-CoT training JSON (bbox_info.crop_hbox; open-ended and multiple-choice)",
    prepare,
    read_unit,
)
