"""GeoChat-Bench evaluation JSONL (one question a line), as GeoChat's `geochat/eval/batch_geochat_*.py` read it.

`kind` picks the file type:

- `scene` (AID / UCMerced): `{"question_id": "Airport/airport_1.jpg", "image", "text", "ground_truth"}`; the class is
  `ground_truth`, else the question id's folder (GeoChat scores against that). Classes: every label of the file.
- `vqa` (LRBEN / HRBEN): `{"question_id", "image", "text", "category", "ground_truth"}`; a line without an answer
  (`ground_truth` or `answer`) is skipped with the reason: its answers are in the RSVQA files (`rsvqa` reader).
- `referring`: `{"question_id", "image_id", "question", "ground_truth", "type", "dataset", "obj_ids",
  "size_group"}`, image `<image_id>.png`; the box is GeoChat's `{<x1><y1><x2><y2>|<θ>}` (0-100 grid, θ in degrees)
  or the same five numbers as a list. Only `type: ref` lines with one box are grounding samples; the others (several
  objects) are skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rs_data.readers._common import ImageIndex, Reader, ReadResult, image_ref, object_or_skip, read_jsonl
from rs_data.readers.llava import geochat_polygon, geochat_polygons
from rs_data.schema import (
    ClassificationAnnotation,
    GroundingAnnotation,
    ImageRef,
    Record,
    Skipped,
    VQAAnnotation,
)

Kind = Literal["scene", "vqa", "referring"]


@dataclass(frozen=True)
class GeoChatContext:
    dataset: str
    source: str
    images: ImageIndex
    kind: str
    classes: list[str]


def _scene_label(row: dict[str, Any]) -> str | None:
    label = row.get("ground_truth") or str(row.get("question_id", "")).partition("/")[0]
    return str(label) if label else None


def prepare(
    src: Path, kind: Kind = "scene", images: str | Path | None = None, dataset: str = "geochat-bench"
) -> tuple[GeoChatContext, list[tuple[int, Any]]]:
    """`src` is the JSONL question file; images under `images` (default: the file's folder)."""
    if kind not in ("scene", "vqa", "referring"):
        raise ValueError(f"{src}: kind must be scene, vqa or referring, not {kind!r}")
    units = read_jsonl(src)
    labels = {_scene_label(row) for _, row in units if kind == "scene" and isinstance(row, dict)}
    classes = sorted(label for label in labels if label)
    image_dir = Path(images) if images else src.parent
    return GeoChatContext(dataset, str(src), ImageIndex(image_dir), kind, classes), units


def referring_polygons(ground_truth: Any, image: ImageRef) -> list[list[float]]:
    """The polygons of a referring ground truth: GeoChat box text, or one [x1, y1, x2, y2, θ] list."""
    if isinstance(ground_truth, str):
        return geochat_polygons(ground_truth, image)
    if not isinstance(ground_truth, list):
        return []
    if len(ground_truth) == 5 and all(isinstance(v, int | float) for v in ground_truth):
        return [geochat_polygon(tuple(ground_truth), image)]
    return [p for item in ground_truth for p in referring_polygons(item, image)]


def _annotation(context: GeoChatContext, row: dict[str, Any], image: ImageRef) -> tuple[str, Any] | str:
    """(task, annotation) of a line, or the reason it is not a sample."""
    if context.kind == "scene":
        label = _scene_label(row)
        if not label:
            return "no class in `ground_truth` or `question_id`"
        return "classification", ClassificationAnnotation(label=label, classes=context.classes)
    if context.kind == "vqa":
        answer = row.get("ground_truth", row.get("answer"))
        if answer is None or not isinstance(row.get("text"), str):
            return "needs `text` and an answer (`ground_truth`): take LRBEN/HRBEN answers from the RSVQA files"
        question_type = row.get("category") or row.get("type")
        return "vqa", VQAAnnotation(question=row["text"], answer=str(answer), question_type=question_type)
    if row.get("type") != "ref":
        return f"type {row.get('type')!r}: only `ref` lines (one object) are grounding samples"
    polygons = referring_polygons(row.get("ground_truth"), image)
    if len(polygons) != 1 or not isinstance(row.get("question"), str):
        return f"needs a `question` and one GeoChat box in `ground_truth`, found {len(polygons)} box(es)"
    return "grounding", GroundingAnnotation(expression=row["question"], polygon=polygons[0])


def read_unit(context: GeoChatContext, unit: tuple[int, Any]) -> ReadResult:
    number, value = unit
    result = ReadResult()
    row = object_or_skip(value, "row", context.source, number, result.skipped)
    if row is None:
        return result
    name = f"{row['image_id']}.png" if context.kind == "referring" and "image_id" in row else row.get("image")
    if not isinstance(name, str) or "question_id" not in row:
        result.skipped.append(Skipped(context.source, number, "needs `question_id` and an image"))
        return result
    image = image_ref(context.images.find(name), context.source, number, result.skipped, name=name)
    if image is None:
        return result
    made = _annotation(context, row, image)
    if isinstance(made, str):
        result.skipped.append(Skipped(context.source, number, made))
        return result
    task, annotation = made
    meta = {k: row[k] for k in ("size_group", "dataset", "obj_ids") if k in row}
    result.records.append(
        Record(
            id=str(row["question_id"]),
            dataset=context.dataset,
            task=task,
            images=[image],
            annotation=annotation,
            meta=meta,
        )
    )
    return result


READER = Reader(
    "geochat-bench", "GeoChat-Bench evaluation JSONL (scene, VQA, referring with GeoChat boxes)", prepare, read_unit
)
