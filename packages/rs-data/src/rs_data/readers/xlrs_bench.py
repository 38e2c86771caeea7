"""XLRS-Bench VQA (XLRS-Bench-lite), from either public data file its evaluation tools read.

- VLMEvalKit's multiple-choice TSV (`XLRS-Bench-lite_VLM`): one question a row with the columns `index`,
  `question`, `A` .. `D` (a blank option is left out), `answer` (one letter, or several separated by spaces for the
  multi-answer land-use task), `category` (the L3 task), `l2-category` (the L2 dimension), and the image as `image`
  (base64) or `image_path`. The question is shown with XLRS-Bench's own prompt: the choices listed as `(A) ...`,
  then its single- or multi-answer instruction and "The answer is:".
- lmms-eval's copy (`initiacms/XLRS-Bench-lite`, a `datasets` folder written by `save_to_disk`; its `train` split
  is the one lmms-eval's `xlrs-lite` task evaluates; needs the `hf` extra): the columns `index`, `question`,
  `multi-choice options` (`(A) ...` strings), `answer`, `category` (`L2 dimension/L3 task`) and `image` (a list of
  images). The question is shown as lmms-eval's `xlrs_doc_to_text` words it.

Images are written once to `image_cache` (default: an `images` folder beside the TSV, or `<folder>-images` beside the
dataset folder) as `<index>.<format>` (`<index>_<k>` for the k-th of several), bytes unchanged. A question is
multi-answer when its answer names several letters or its L3 task is overall land use classification, the one task
XLRS-Bench asks several letters for.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from rs_data.readers._common import Reader, ReadResult, image_ref
from rs_data.readers.hf_folders import load_folder, write_image_cell
from rs_data.schema import ImageRef, Record, Skipped, VQAAnnotation

LETTERS = "ABCD"
SINGLE = (
    "Select the best answer for the multiple-choice question based on the image. Only respond with the letter "
    "corresponding to the correct answer (A, B, C, D)."
)
MULTIPLE = (
    "Select the best answer(s) for the multiple-choice question based on the image. There may be more than one "
    "correct option. Only respond with the letter(s) corresponding to the correct answer(s) (A, B, C, D), with "
    "multiple choices separated by spaces."
)


LMMS_COLUMNS = ("index", "question", "multi-choice options", "answer", "category", "image")
OVERALL_LAND_USE = "overall land use classification"
_LETTER = re.compile(r"[A-E]")


@dataclass(frozen=True)
class XlrsContext:
    dataset: str
    source: str
    root: Path
    cache: Path
    split: str | None = None  # set for lmms-eval's `datasets` folder


def prepare(
    src: Path,
    image_cache: str | Path | None = None,
    images: str | Path | None = None,
    dataset: str = "xlrs-bench",
    split: str = "train",
) -> tuple[XlrsContext, list[tuple[int, Any]]]:
    """`src` is the TSV (its `image_path` values relative to `images`, default: the TSV's folder) or lmms-eval's
    `datasets` folder (its `split`)."""
    if src.is_dir():
        cache = Path(image_cache) if image_cache else src.parent / f"{src.name}-images"
        context = XlrsContext(dataset, str(src), src, cache, split)
        return context, [(row, None) for row in range(len(_lmms_rows(str(src), split)))]
    csv.field_size_limit(sys.maxsize)  # a base64 image of an ultra-high-resolution scene is one large field
    with src.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    cache = Path(image_cache) if image_cache else src.parent / "images"
    root = Path(images) if images else src.parent
    return XlrsContext(dataset, str(src), root, cache), [(n, row) for n, row in enumerate(rows, start=2)]


@lru_cache(maxsize=2)
def _lmms_rows(folder: str, split: str) -> Any:
    return load_folder(folder, LMMS_COLUMNS, "image", split)


def _image_file(context: XlrsContext, row: dict[str, str]) -> Path:
    if row.get("image_path"):
        return context.root / row["image_path"]
    data = base64.b64decode(row["image"])
    with Image.open(io.BytesIO(data)) as image:
        suffix = (image.format or "png").lower()
    path = context.cache / f"{row['index']}.{suffix}"
    if not path.is_file():
        context.cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def xlrs_prompt(question: str, choices: list[str], multiple: bool) -> str:
    """XLRS-Bench's VQA prompt around a question and its lettered choices."""
    listed = "\n".join(choices)
    return f"{question} The choices are listed below:\n{listed}\n{MULTIPLE if multiple else SINGLE}\nThe answer is:"


def lmms_eval_prompt(question: str, choices: list[str], multiple: bool) -> str:
    """The same prompt as lmms-eval's `xlrs_doc_to_text` joins it (its spacing, its multi-answer ending)."""
    listed = "The choices are listed below:\n" + "\n".join(choices) + "\n"
    ending = f"\n{MULTIPLE}The answer(s) is(are):" if multiple else f"\n{SINGLE}\nThe answer is:"
    return question + listed + ending


def _is_multiple(letters: list[str], task: str) -> bool:
    return len(letters) > 1 or task.strip().lower() == OVERALL_LAND_USE


def _record(
    context: XlrsContext,
    index: Any,
    question: str,
    answer: Any,
    choices: list[str],
    images: list[ImageRef],
    *,
    prompt: Callable[[str, list[str], bool], str],
    task: str,
    dimension: str | None,
) -> Record:
    """One question's record, worded by `prompt`; its answer letters are the capitals A-E of `answer`."""
    letters = _LETTER.findall(str(answer))
    multiple = _is_multiple(letters, task)
    return Record(
        id=str(index),
        dataset=context.dataset,
        task="uhr_vqa",
        images=images,
        annotation=VQAAnnotation(
            question=prompt(question, choices, multiple),
            answer=" ".join(letters),
            question_type=task,
            choices=choices,
        ),
        meta={"l2_category": dimension, "multiple": multiple},
    )


def _tsv_row(context: XlrsContext, line: int, row: dict[str, str], result: ReadResult) -> None:
    try:
        choices = [f"({letter}) {row[letter].strip()}" for letter in LETTERS if (row.get(letter) or "").strip()]
        index, question, answer, task = row["index"], row["question"].strip(), row["answer"], row["category"]
        path = _image_file(context, row)
    except (KeyError, TypeError, ValueError, OSError) as error:
        result.skipped.append(Skipped(context.source, line, f"malformed row: {error!r}"))
        return
    image = image_ref(path, context.source, line, result.skipped, name=str(path))
    if image is not None:
        dimension = row.get("l2-category")
        record = _record(
            context, index, question, answer, choices, [image], prompt=xlrs_prompt, task=task, dimension=dimension
        )
        result.records.append(record)


def _lmms_row(context: XlrsContext, number: int, result: ReadResult) -> None:
    row = _lmms_rows(context.source, context.split)[number]
    where = f"row {number}"
    try:
        dimension, _, task = str(row["category"]).rpartition("/")
        choices = [str(c).strip() for c in row["multi-choice options"]]
        cells = row["image"] if isinstance(row["image"], list) else [row["image"]]
        if not choices or not cells:
            raise ValueError("no choices or no image")
        context.cache.mkdir(parents=True, exist_ok=True)
        stems = [f"{row['index']}"] if len(cells) == 1 else [f"{row['index']}_{k}" for k in range(len(cells))]
        paths = [write_image_cell(cell, context.cache / stem) for cell, stem in zip(cells, stems, strict=True)]
    except (KeyError, TypeError, ValueError, OSError) as error:
        result.skipped.append(Skipped(context.source, None, f"{where}: malformed row: {error!r}"))
        return
    images = [image_ref(p, context.source, None, result.skipped, name=str(p)) for p in paths]
    if None not in images:
        record = _record(
            context,
            row["index"],
            str(row["question"]),
            row["answer"],
            choices,
            images,
            prompt=lmms_eval_prompt,
            task=task,
            dimension=dimension or None,
        )
        result.records.append(record)


def read_unit(context: XlrsContext, unit: tuple[int, Any]) -> ReadResult:
    result = ReadResult()
    if context.split is None:
        _tsv_row(context, unit[0], unit[1], result)
    else:
        _lmms_row(context, unit[0], result)
    return result


READER = Reader(
    "xlrs-bench",
    "XLRS-Bench VQA: VLMEvalKit's multiple-choice TSV, or lmms-eval's `datasets` folder (needs the `hf` extra)",
    prepare,
    read_unit,
)
