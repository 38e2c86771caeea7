"""LRS-VQA JSONL (ultra-high-resolution VQA): `question_id, image, category, text, ground_truth, image_size` and,
for non-count rows, evidence `hbox` (x1, y1, x2, y2) / `rbox` (4 corners).

`image_size` is read as [width, height] (as the official scorer does) unless the real image or the evidence shows it
is [height, width]; evidence reaching beyond the image is clipped to it and the record is flagged
(`meta["evidence_clipped"]`); a row whose evidence lies wholly outside the image is skipped. The real image size wins
when the image file is present; the row's `image_size` is kept in `meta`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rs_resolution import CropWindow, clip_poly, hbb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, clean_polygon, image_ref
from rs_data.schema import ImageRef, Record, Skipped, VQAAnnotation


@dataclass(frozen=True)
class LRSContext:
    dataset: str
    source: str
    images: ImageIndex
    check_images: bool
    split: str | None


def prepare(
    src: Path,
    images: str | Path | None = None,
    check_images: bool = True,
    dataset: str = "lrs-vqa",
    split: str | None = None,
) -> tuple[LRSContext, list[tuple[int, str]]]:
    """`src` is the JSONL; images under `images` (default: the file's directory)."""
    lines = [(n, line) for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    image_dir = Path(images) if images else src.parent
    return LRSContext(dataset, str(src), ImageIndex(image_dir), check_images, split), lines


def _evidence(row: dict) -> np.ndarray | None:
    if "rbox" in row:
        return np.asarray(row["rbox"], dtype=np.float64)
    if "hbox" in row:
        return hbb_to_poly(np.asarray(row["hbox"], dtype=np.float64))
    return None


def _fits(polygon: np.ndarray, width: float, height: float) -> bool:
    return bool(polygon[0::2].max() <= width and polygon[1::2].max() <= height)


def _size_from_annotation(row: dict, evidence: np.ndarray | None) -> tuple[int, int]:
    first, second = (int(v) for v in row["image_size"])
    if evidence is not None and not _fits(evidence, first, second) and _fits(evidence, second, first):
        return second, first
    return first, second


def read_unit(context: LRSContext, unit: tuple[int, str]) -> ReadResult:
    line, text = unit
    result = ReadResult()
    source = context.source
    try:
        row = json.loads(text)
        question, answer, name = row["text"], str(row["ground_truth"]), row["image"]
        evidence = _evidence(row)
        annotated = _size_from_annotation(row, evidence) if "image_size" in row else None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(source, line, f"malformed row: {error!r}"))
        return result
    path = context.images.find(name)
    if path is not None and path.is_file():
        image = image_ref(path, source, line, result.skipped)
    else:
        expected = context.images.expected(name)
        image = image_ref(None, source, line, result.skipped, annotated, context.check_images, name, expected)
    if image is None:
        return result
    meta: dict = {"source": row["question_id"].split("_")[0]}
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
            id=str(row["question_id"]),
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
