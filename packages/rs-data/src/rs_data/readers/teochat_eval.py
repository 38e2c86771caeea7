"""TEOChatlas evaluation files (`eval/*.json` of TEOChatlas), LLaVA-style lists as upstream RSCoVLM reads them:
`video` (the frame paths, `TEOChatlas/eval/` prefixed), `conversations` (a human question with a `<video>` tag and
the gpt answer; a turn without `from` is taken in human, gpt order), `task` and `dataset`.

Single-frame items (the GeoChat subset: AID, UCMerced, LRBEN, HRBEN) become VQA records, the question without
its "This is a satellite image: <video>" lead, `question_type` the item's task and `meta["dataset"]` its data set.

Multi-frame (temporal) items become VQA records over every frame, in time order (`timestamp(s)`, see
`teochatlas`), the question without its lead up to `<video>`. Their 0-100 boxes become `<poly>` markers in the
first frame's original pixels, so that rendering writes them in the model's convention. The ground-truth region
of a region task, TEOChat's `original_input_polygon` (or `polygon`): WKT polygons on TEOChat's 256 x 256 grid, is
kept in `meta["regions"]` as polygons in the first frame's original pixels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import shapely
from shapely import wkt

from rs_data.readers._common import Reader, ReadResult, image_ref
from rs_data.readers._json_lists import JsonListContext, add_vqa_record, prepare_json_lists
from rs_data.readers.entries import BadEntry
from rs_data.readers.teochatlas import grid_boxes_to_poly_tags, in_time_order
from rs_data.schema import ImageRef, Record, Skipped, VQAAnnotation

_LEAD = re.compile(r"^\s*(This is a satellite image:\s*)?<video>\s*")
_TEMPORAL_LEAD = re.compile(r"^[^<]*<video>\s*")
_PREFIX = "TEOChatlas/eval/"
GRID = 256  # TEOChat's evaluation grid (`evaluate_masks(height=256, width=256)`)


def prepare(
    src: Path, files: list[str] | None = None, images: str | Path | None = None, dataset: str = "teochatlas"
) -> tuple[JsonListContext, list[tuple[Path, int, Any]]]:
    """`src` is TEOChatlas' `eval` folder (with `files`) or one file; frames under `images` (default: that folder)."""
    return prepare_json_lists(src, files, images, dataset)


def _turns(item: dict) -> tuple[str, str]:
    human, gpt = item["conversations"]
    if human.get("from", "human") != "human" or gpt.get("from", "gpt") != "gpt":
        raise ValueError("conversations must be one human turn and one gpt turn")
    return human["value"], str(gpt["value"])


def regions(value: Any, image: ImageRef) -> list[list[float]]:
    """The polygons of a WKT string (or list of them) on TEOChat's grid, in `image`'s original pixels."""
    texts = [] if value is None else [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise BadEntry("'original_input_polygon' must be a WKT string or a list of them")
    polygons = []
    for text in texts:
        try:
            geometry = wkt.loads(text)
        except shapely.errors.ShapelyError as error:
            raise BadEntry(f"'original_input_polygon' is not WKT: {text[:60]!r}") from error
        for part in getattr(geometry, "geoms", [geometry]):
            if part.geom_type != "Polygon":
                raise BadEntry(f"'original_input_polygon' holds a {part.geom_type}, not polygons")
            points = [(x * image.width / GRID, y * image.height / GRID) for x, y in part.exterior.coords[:-1]]
            polygons.append([v for point in points for v in point])
    return polygons


def _temporal(context: JsonListContext, unit: tuple[Path, int, Any], result: ReadResult, frames: list[str]) -> None:
    path, index, item = unit
    where = f"item {index}"
    try:
        frames, stamps = in_time_order(item, frames)
    except BadEntry as error:
        result.skipped.append(Skipped(str(path), None, f"{where}: {error}"))
        return
    refs = []
    for frame in frames:  # the first missing frame is the item's one counted skip
        ref = image_ref(context.images / frame, str(path), None, result.skipped, name=frame)
        if ref is None:
            return
        refs.append(ref)
    question, answer = _turns(item)
    try:
        question = grid_boxes_to_poly_tags(_TEMPORAL_LEAD.sub("", question).strip(), refs[0])
        answer = grid_boxes_to_poly_tags(answer, refs[0])
        area = regions(item.get("original_input_polygon", item.get("polygon")), refs[0])
    except BadEntry as error:
        result.skipped.append(Skipped(str(path), None, f"{where}: {error}"))
        return
    meta = {"dataset": item.get("dataset", path.stem), "timestamps": stamps, "regions": area}
    result.records.append(
        Record(
            id=f"{path.stem}_{index}",
            dataset=context.dataset,
            task="vqa",
            images=refs,
            annotation=VQAAnnotation(question=question, answer=answer, question_type=str(item["task"])),
            meta=meta,
        )
    )


def read_unit(context: JsonListContext, unit: tuple[Path, int, Any]) -> ReadResult:
    path, index, item = unit
    result = ReadResult()
    where = f"item {index}"
    try:
        frames = [str(f).removeprefix(_PREFIX) for f in item["video"]]
        question, answer = _turns(item)
        task = str(item["task"])
    except (KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(str(path), None, f"{where}: malformed ({error!r})"))
        return result
    if len(frames) > 1:
        _temporal(context, unit, result, frames)
        return result
    if not frames:
        result.skipped.append(Skipped(str(path), None, f"{where}: no frames in 'video'"))
        return result
    question = _LEAD.sub("", question).strip()
    add_vqa_record(
        result, context, unit, frames[0], question, answer, task, {"dataset": item.get("dataset", path.stem)}
    )
    return result


READER = Reader("teochat-eval", "TEOChatlas evaluation JSON (single-frame and temporal items)", prepare, read_unit)
