"""XLRS-Bench VQA in VLMEvalKit's multiple-choice TSV (`XLRS-Bench-lite_VLM`): one question a row with the columns
`index`, `question`, `A` .. `D` (a blank option is left out), `answer` (one letter, or several separated by spaces
for the multi-answer land-use task), `category` (the L3 task), `l2-category`, and the image as `image` (base64) or
`image_path`.

Base64 images are written once to `image_cache` (default: an `images` folder beside the TSV) as `<index>.<format>`.
The question is shown with XLRS-Bench's own prompt: the choices listed as `(A) ...`, then its single- or
multi-answer instruction and "The answer is:".
"""

from __future__ import annotations

import base64
import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from rs_data.readers._common import Reader, ReadResult, image_ref
from rs_data.schema import Record, Skipped, VQAAnnotation

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


@dataclass(frozen=True)
class XlrsContext:
    dataset: str
    source: str
    root: Path
    cache: Path


def prepare(
    src: Path, image_cache: str | Path | None = None, images: str | Path | None = None, dataset: str = "xlrs-bench"
) -> tuple[XlrsContext, list[tuple[int, dict[str, str]]]]:
    """`src` is the TSV; `image_path` values are relative to `images` (default: the TSV's folder)."""
    csv.field_size_limit(sys.maxsize)  # a base64 image of an ultra-high-resolution scene is one large field
    with src.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    cache = Path(image_cache) if image_cache else src.parent / "images"
    root = Path(images) if images else src.parent
    return XlrsContext(dataset, str(src), root, cache), [(n, row) for n, row in enumerate(rows, start=2)]


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


def read_unit(context: XlrsContext, unit: tuple[int, dict[str, str]]) -> ReadResult:
    line, row = unit
    result = ReadResult()
    try:
        choices = [f"({letter}) {row[letter].strip()}" for letter in LETTERS if (row.get(letter) or "").strip()]
        answer = " ".join(row["answer"].split())
        question, category = row["question"].strip(), row["category"]
        path = _image_file(context, row)
    except (KeyError, TypeError, ValueError, OSError) as error:
        result.skipped.append(Skipped(context.source, line, f"malformed row: {error!r}"))
        return result
    image = image_ref(path, context.source, line, result.skipped, name=str(path))
    if image is not None:
        multiple = len(answer.split()) > 1 or "land use" in category.lower()
        result.records.append(
            Record(
                id=str(row["index"]),
                dataset=context.dataset,
                task="uhr_vqa",
                images=[image],
                annotation=VQAAnnotation(
                    question=xlrs_prompt(question, choices, multiple),
                    answer=answer,
                    question_type=category,
                    choices=choices,
                ),
                meta={"l2_category": row.get("l2-category"), "multiple": multiple},
            )
        )
    return result


READER = Reader("xlrs-bench", "XLRS-Bench VQA, VLMEvalKit multiple-choice TSV", prepare, read_unit)
