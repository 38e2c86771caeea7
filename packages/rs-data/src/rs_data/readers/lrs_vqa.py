"""LRS-VQA JSONL (ultra-high-resolution VQA): `question_id, image, category, text, ground_truth, image_size` and,
for non-count rows, evidence `hbox` (x1, y1, x2, y2) / `rbox` (4 corners).

`image_size` is read as [width, height] (as the official scorer does) unless the real image or the evidence shows it
is [height, width]; that is decided once per image (over all its rows), so an image has one size. Evidence reaching
beyond the image is clipped to it and the record is flagged (`meta["evidence_clipped"]`); a row whose evidence lies
wholly outside the image is skipped. The real image size wins when the image file is present; the row's `image_size`
is kept in `meta`. A row that is not an object, lacks a field or has one of the wrong type (a `question_id` that is
not a non-empty string, as the official `"GLH-Bridge_381"`) is skipped with its line and reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rs_resolution import CropWindow, clip_poly, hbb_to_poly

from rs_data.readers._common import (
    ImageIndex,
    Reader,
    ReadResult,
    clean_polygon,
    image_ref,
    read_jsonl,
    require_object,
)
from rs_data.schema import ImageRef, Record, Skipped, VQAAnnotation


@dataclass(frozen=True)
class LRSContext:
    dataset: str
    source: str
    images: ImageIndex
    check_images: bool
    split: str | None
    swapped: frozenset[str]  # images whose `image_size` is [height, width]


def prepare(
    src: Path,
    images: str | Path | None = None,
    check_images: bool = True,
    dataset: str = "lrs-vqa",
    split: str | None = None,
) -> tuple[LRSContext, list[tuple[int, str]]]:
    """`src` is the JSONL; images under `images` (default: the file's directory)."""
    rows = read_jsonl(src)
    image_dir = Path(images) if images else src.parent
    return LRSContext(dataset, str(src), ImageIndex(image_dir), check_images, split, _swapped_images(rows)), rows


def _evidence(row: dict) -> np.ndarray | None:
    if "rbox" in row:
        return np.asarray(row["rbox"], dtype=np.float64).reshape(8)
    if "hbox" in row:
        return hbb_to_poly(np.asarray(row["hbox"], dtype=np.float64).reshape(4))
    return None


def _fits(polygon: np.ndarray, width: float, height: float) -> bool:
    return bool(polygon[0::2].max() <= width and polygon[1::2].max() <= height)


def _annotated_size(row: dict) -> tuple[int, int] | None:
    """`image_size` as two positive whole numbers, or None when the row has none; ValueError when it is malformed."""
    if "image_size" not in row:
        return None
    size = row["image_size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise ValueError(f"image_size {size!r} is not two positive whole numbers")
    return size[0], size[1]


def _swapped_images(rows: list) -> frozenset[str]:
    """Images whose rows' evidence fits [height, width] but not [width, height] (decided over all rows of the image)."""
    votes: dict[str, set[bool]] = defaultdict(set)
    for _line, row in rows:
        try:
            size, evidence = _annotated_size(row), _evidence(row)
        except (AttributeError, TypeError, ValueError):
            continue  # reported when the row itself is read
        if size is None or evidence is None or not isinstance(row.get("image"), str):
            continue
        width, height = size
        if not _fits(evidence, width, height) and _fits(evidence, height, width):
            votes[row["image"]].add(True)
    return frozenset(votes)


def read_unit(context: LRSContext, unit: tuple[int, object]) -> ReadResult:
    line, value = unit
    result = ReadResult()
    source = context.source
    try:
        row = require_object(value)
        question, name, question_id = row["text"], row["image"], row["question_id"]
        for key, field in (("text", question), ("image", name)):
            if not isinstance(field, str):
                raise TypeError(f"{key} is {field!r}, not a string")
        if not isinstance(question_id, str) or not question_id.strip():
            raise TypeError(f"question_id is {question_id!r}, not a string like 'GLH-Bridge_381'")
        if row["ground_truth"] is None or isinstance(row["ground_truth"], dict | list):
            raise TypeError(f"ground_truth is {row['ground_truth']!r}")
        answer = str(row["ground_truth"])
        evidence = _evidence(row)
        annotated = _annotated_size(row)
    except (KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(source, line, f"malformed row: {error}"))
        return result
    if annotated is not None and name in context.swapped:
        annotated = annotated[::-1]
    path = context.images.find(name)
    if path is not None and path.is_file():
        image = image_ref(path, source, line, result.skipped)
    else:
        expected = context.images.expected(name)
        image = image_ref(None, source, line, result.skipped, annotated, context.check_images, name, expected)
    if image is None:
        return result
    meta: dict = {"source": str(question_id).split("_")[0]}
    polygons = []
    if evidence is not None:
        polygon = clean_polygon(evidence, image, source, line, "evidence", result.skipped)
        if polygon is not None and not _fits(np.asarray(polygon), image.width, image.height):
            clipped, _fraction = clip_poly(polygon, CropWindow(x0=0, y0=0, x1=image.width, y1=image.height))
            polygon = None if clipped is None else clipped.tolist()
            meta["evidence_clipped"] = True
        if polygon is None:  # a question about one object is not kept without that object
            return result
        polygons.append(polygon)
    for key in ("abs_size", "size_bin", "image_size"):
        if key in row:
            meta[key] = row[key]
    annotation = VQAAnnotation(question=question, answer=answer, question_type=row.get("category"), evidence=polygons)
    result.records.append(
        Record(
            id=str(question_id),
            dataset=context.dataset,
            task="uhr_vqa",
            images=[ImageRef(path=image.path, width=image.width, height=image.height)],
            annotation=annotation,
            split=context.split,
            meta=meta,
        )
    )
    return result


READER = Reader("lrs-vqa", "LRS-VQA JSONL (ultra-high-resolution VQA with evidence boxes)", prepare, read_unit)
