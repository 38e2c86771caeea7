"""GeoGround's evaluation metainfo JSONL (`metainfo/{avvg,rsvg,dior_rsvg,geochat}_test.jsonl` of refGeo), as
upstream RSCoVLM's `rscovlm/eval/data/geoground.py` reads it.

Each line is one referring expression: `image_id` (file name under the set's image folder), `question` (the
expression), `bbox` (x1, y1, x2, y2 in pixels), `poly` (its four corners [[x, y], ...], the oriented box),
`image_width`, `image_height`, and optionally `question_id` and `dataset`. `box` picks the target: `hbb` (the
axis-aligned box) or `obb` (the polygon). GeoChat's test images may be `.png` where the line says `.jpg`; the image
is found by its stem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from rs_resolution import hbb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, clean_polygon, image_ref
from rs_data.schema import GroundingAnnotation, Record, Skipped


@dataclass(frozen=True)
class GeoGroundContext:
    dataset: str
    source: str
    images: ImageIndex
    box: str
    split: str | None


def prepare(
    src: Path,
    images: str | Path | None = None,
    box: Literal["hbb", "obb"] = "hbb",
    dataset: str = "geoground",
    split: str | None = None,
) -> tuple[GeoGroundContext, list[tuple[int, str]]]:
    """`src` is one metainfo JSONL; images under `images` (default: the file's folder)."""
    if box not in ("hbb", "obb"):
        raise ValueError(f"{src}: box must be hbb or obb, not {box!r}")
    lines = [(n, line) for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    image_dir = Path(images) if images else src.parent
    return GeoGroundContext(dataset, str(src), ImageIndex(image_dir), box, split), lines


def _target(row: dict, box: str) -> np.ndarray:
    if box == "hbb":
        return hbb_to_poly(np.asarray(row["bbox"], dtype=np.float64))
    return np.asarray(row["poly"], dtype=np.float64).reshape(8)


def read_unit(context: GeoGroundContext, unit: tuple[int, str]) -> ReadResult:
    line, text = unit
    result = ReadResult()
    try:
        row = json.loads(text)
        name, expression = str(row["image_id"]), str(row["question"])
        target = _target(row, context.box)
        size = (int(row["image_width"]), int(row["image_height"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(context.source, line, f"malformed line: {error!r}"))
        return result
    image = image_ref(context.images.find(name), context.source, line, result.skipped, size, name=name)
    if image is None:
        return result
    polygon = clean_polygon(target, image, context.source, line, context.box, result.skipped)
    if polygon is None:
        return result
    sample = row.get("question_id", line)
    result.records.append(
        Record(
            id=f"{Path(name).stem}_{sample}",
            dataset=context.dataset,
            task="grounding",
            images=[image],
            annotation=GroundingAnnotation(expression=expression, polygon=polygon),
            split=context.split,
            meta={"source": row.get("dataset"), "box": context.box},
        )
    )
    return result


READER = Reader("geoground-test", "GeoGround evaluation metainfo JSONL (referring, HBB or OBB)", prepare, read_unit)
