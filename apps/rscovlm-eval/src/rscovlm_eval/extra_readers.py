"""Two evaluation-only sources that rs-data has no training reader for: a test image folder, MME-RealWorld."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rs_data import ImageRef, Record, Skipped
from rs_data.readers import ReadResult
from rs_data.schema import DetectionAnnotation, VQAAnnotation
from rs_detect_eval import load_classes
from rs_resolution import ImageReadError, read_image_size

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MME_SUBTASK = "Remote Sensing"
MME_INSTRUCTION = (
    "Select the best answer to the above multiple-choice question based on the image. "
    "Respond with only the letter (A, B, C, D, or E) of the correct option."
)


def _image(path: Path, source: str, line: int | None, skipped: list[Skipped]) -> ImageRef | None:
    try:
        width, height = read_image_size(path)
    except (ImageReadError, OSError, ValueError) as error:
        skipped.append(Skipped(source, line, f"unreadable image {path}: {error}"))
        return None
    return ImageRef(path=str(path), width=width, height=height)


def read_image_folder(src: Path, classes: str = "dota1.0", dataset: str = "dota", **_: Any) -> ReadResult:
    """Detection records without labels, one per image of `src` (a test split: predictions are exported)."""
    names = load_classes(classes)
    result = ReadResult()
    for path in sorted(p for p in Path(src).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        image = _image(path, str(src), None, result.skipped)
        if image is not None:
            annotation = DetectionAnnotation(objects=[], classes=names)
            result.records.append(
                Record(id=path.stem, dataset=dataset, task="detection", images=[image], annotation=annotation)
            )
    return result


def read_mme_realworld(
    src: Path, images: Path | None = None, subtask: str = MME_SUBTASK, dataset: str = "mme-realworld", **_: Any
) -> ReadResult:
    """MME-RealWorld's JSON list, keeping one subtask: the question shown with its lettered choices."""
    result = ReadResult()
    try:
        rows = json.loads(Path(src).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{src}:{error.lineno}: not valid JSON ({error.msg})") from error
    if not isinstance(rows, list):
        raise ValueError(f"{src}: expected a JSON list of questions")
    root = Path(images) if images is not None else Path(src).parent
    for number, row in enumerate(rows, start=1):
        try:
            if row["Subtask"] != subtask:
                continue
            choices = [str(c) for c in row["Answer choices"]]
            question = "\n".join([row["Text"], *choices, MME_INSTRUCTION])
            annotation = VQAAnnotation(
                question=question, answer=str(row["Ground truth"]), question_type=row["Category"], choices=choices
            )
            qid, name = str(row["Question_id"]), row["Image"]
        except (KeyError, TypeError) as error:
            result.skipped.append(Skipped(str(src), number, f"question {number}: missing or malformed {error}"))
            continue
        image = _image(root / name, str(src), number, result.skipped)
        if image is not None:
            meta = {"task": row.get("Task"), "subtask": subtask}
            result.records.append(
                Record(id=qid, dataset=dataset, task="uhr_vqa", images=[image], annotation=annotation, meta=meta)
            )
    return result


EXTRA_READERS = {"image-folder": read_image_folder, "mme-realworld": read_mme_realworld}
