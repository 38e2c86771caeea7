"""Building detection records from (label, polygon, difficult) triples, shared by the detection readers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rs_data.readers._common import ClassFilter, ImageIndex, ReadResult, checked_polygons, clean_polygon
from rs_data.schema import DetectionAnnotation, ImageRef, ObjectAnn, Record


@dataclass(frozen=True)
class DetectionContext:
    """What every unit of a detection source needs: where images are and which classes are valid."""

    dataset: str
    images: ImageIndex
    classes: ClassFilter
    check_images: bool
    split: str | None


def detection_record(
    context: DetectionContext,
    record_id: str,
    image: ImageRef,
    raw_objects: Iterable[tuple[str, Iterable[float], bool, int | None]],
    source: str,
    result: ReadResult,
    meta: dict | None = None,
    names: Sequence[str] | None = None,
) -> None:
    """Validate objects `(label, polygon, difficult, line)` and append one detection record to `result`; a skipped
    object is named by `names` (default: `object N`, N its position)."""
    objects = []
    raw = list(raw_objects)
    checked = checked_polygons([polygon for _, polygon, _, _ in raw])
    for index, (label, polygon, difficult, line) in enumerate(raw):
        what = f"object {index}" if names is None else names[index]
        canonical = context.classes.match(label, source, line, what, result.skipped)
        if canonical is None:
            continue
        valid = None if checked is None else checked[index]
        clean = clean_polygon(polygon, image, source, line, f"{what} ({label})", result.skipped, valid)
        if clean is not None:
            objects.append(ObjectAnn(label=canonical, polygon=clean, difficult=bool(difficult)))
    classes = context.classes.class_list(o.label for o in objects)
    result.records.append(
        Record(
            id=record_id,
            dataset=context.dataset,
            task="detection",
            images=[image],
            annotation=DetectionAnnotation(objects=objects, classes=classes),
            split=context.split,
            meta=meta or {},
        )
    )
