"""GeoChat-Bench referring JSONL with every line kept, single- and multi-object (upstream RSCoVLM's
`geochat_referring`): `{"question_id", "image_id", "question", "ground_truth", "type", "dataset", "obj_ids",
"size_group"}`, image `<image_id>.png`, the targets GeoChat boxes `{<x1><y1><x2><y2>|<θ>}` (0-100 grid).

A record is a grounding sample whose `polygon` is the first target; `meta["polygons"]` holds all of them (in
original pixels) for the multi-object scorer, with `type`, `size_group` and `obj_ids`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rs_data.readers import geochat_bench
from rs_data.readers._common import Reader, ReadResult, image_ref, object_or_skip
from rs_data.schema import GroundingAnnotation, Record, Skipped


def prepare(
    src: Path, images: str | Path | None = None, dataset: str = "geochat-bench"
) -> tuple[geochat_bench.GeoChatContext, list[tuple[int, Any]]]:
    """`src` is GeoChat's referring.jsonl; images under `images` (default: the file's folder)."""
    return geochat_bench.prepare(src, "referring", images, dataset)


def read_unit(context: geochat_bench.GeoChatContext, unit: tuple[int, Any]) -> ReadResult:
    number, value = unit
    result = ReadResult()
    row = object_or_skip(value, "row", context.source, number, result.skipped)
    if row is None:
        return result
    if not {"question_id", "image_id", "question"} <= set(row):
        result.skipped.append(Skipped(context.source, number, "needs `question_id`, `image_id` and `question`"))
        return result
    name = f"{row['image_id']}.png"
    image = image_ref(context.images.find(name), context.source, number, result.skipped, name=name)
    if image is None:
        return result
    polygons = geochat_bench.referring_polygons(row.get("ground_truth"), image)
    if not polygons:
        result.skipped.append(Skipped(context.source, number, "no GeoChat box in `ground_truth`"))
        return result
    meta = {k: row[k] for k in ("type", "size_group", "dataset", "obj_ids") if k in row}
    result.records.append(
        Record(
            id=str(row["question_id"]),
            dataset=context.dataset,
            task="grounding",
            images=[image],
            annotation=GroundingAnnotation(expression=str(row["question"]), polygon=polygons[0]),
            meta={**meta, "polygons": polygons},
        )
    )
    return result


READER = Reader(
    "geochat-referring", "GeoChat-Bench referring JSONL, single- and multi-object lines", prepare, read_unit
)
