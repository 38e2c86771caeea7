"""COCO instances JSON (`bbox` and polygon `segmentation`) as detection records.

A polygon segmentation of exactly four vertices is kept as the object's quadrilateral; a longer polygon becomes its
minimum-area rotated rectangle; crowd RLE masks and annotations without a polygon use `bbox` (x, y, w, h).
Crowd annotations are marked difficult.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rs_resolution import canonical_poly, hbb_to_poly
from shapely.geometry import MultiPoint

from rs_data.readers._common import ClassFilter, ImageIndex, Reader, ReadResult, image_ref, load_json, require_object
from rs_data.readers.detection_common import DetectionContext, detection_record
from rs_data.schema import Skipped


@dataclass(frozen=True)
class CocoContext:
    detection: DetectionContext
    source: str
    categories: dict[int, str]


def prepare(
    src: Path,
    images: str | Path | None = None,
    classes: str | list[str] | None = None,
    check_images: bool = True,
    dataset: str = "coco",
    split: str | None = None,
) -> tuple[CocoContext, list[tuple[dict, list[dict]]]]:
    """`src` is the instances JSON; images are found under `images` (default: the JSON's directory)."""
    data = load_json(src)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"{src}: field {key!r} must be a list")
    try:
        categories = {c["id"]: c["name"] for c in data["categories"]}
    except (KeyError, TypeError) as error:
        raise ValueError(f"{src}: every category needs an 'id' and a 'name' ({error!r})") from error
    class_filter = ClassFilter(classes if classes is not None else sorted(categories.values()))
    by_image: dict[Any, list[tuple[int, Any]]] = defaultdict(list)  # (place in the file, annotation)
    for place, ann in enumerate(data["annotations"]):
        by_image[_id(ann.get("image_id")) if isinstance(ann, dict) else None].append((place, ann))
    context = CocoContext(
        DetectionContext(
            dataset, ImageIndex(Path(images) if images else src.parent), class_filter, check_images, split
        ),
        str(src),
        categories,
    )
    image_ids = {_id(image.get("id")) if isinstance(image, dict) else None for image in data["images"]}
    orphans = [ann for key, anns in by_image.items() if key not in image_ids or key is None for ann in anns]
    units = [
        (image, by_image.get(_id(image.get("id")), []) if isinstance(image, dict) else []) for image in data["images"]
    ]
    return context, units + ([(None, orphans)] if orphans else [])


def _name(place: int, ann: dict) -> str:
    """`annotation ID`, or `annotations[PLACE]` (its place in the file) when it has no usable id."""
    identifier = _id(ann.get("id"))
    return f"annotation {identifier!r}" if identifier is not None else f"annotations[{place}]"


def _id(value: Any) -> int | str | None:
    """An image id usable as a key (COCO ids are numbers or strings); None for any other JSON value."""
    return value if isinstance(value, int | str) else None


def _polygon(ann: dict) -> list[float]:
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, list) and segmentation and isinstance(segmentation[0], list):
        points = [float(v) for v in segmentation[0]]
        if len(points) == 8:
            return points
        if len(points) >= 6 and len(points) % 2 == 0:
            rectangle = MultiPoint(np.reshape(points, (-1, 2))).minimum_rotated_rectangle
            corners = np.asarray(rectangle.exterior.coords)[:4].reshape(-1)
            return canonical_poly(corners).tolist()
    x, y, w, h = (float(v) for v in ann["bbox"])
    return hbb_to_poly(np.array([x, y, x + w, y + h])).tolist()


def _orphans(source: str, anns: list[tuple[int, Any]]) -> ReadResult:
    """Annotations that are not objects, or name no image of the file: each reported."""
    result = ReadResult()
    for place, ann in anns:
        if isinstance(ann, dict):
            reason = f"{_name(place, ann)}: image_id {ann.get('image_id')!r} matches no image"
        else:
            reason = f"annotations[{place}] {ann!r:.60}: a JSON {type(ann).__name__}, not an object"
        result.skipped.append(Skipped(source, None, reason))
    return result


def read_unit(context: CocoContext, unit: tuple[dict | None, list]) -> ReadResult:
    image_info, anns = unit
    source = context.source
    if image_info is None:
        return _orphans(source, anns)
    result = ReadResult()
    try:
        image_info = require_object(image_info, "image entry")
        file_name = image_info["file_name"]
        if not isinstance(file_name, str):
            raise TypeError(f"file_name {file_name!r} is not a string")
        annotated = (int(image_info["width"]), int(image_info["height"]))
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        where = f"image entry {image_info.get('id')!r}" if isinstance(image_info, dict) else "image entry"
        result.skipped.append(Skipped(source, None, f"{where}: bad field {error}"))
        return result
    detection = context.detection
    found, expected = detection.images.find(file_name), detection.images.expected(file_name)
    image = image_ref(found, source, None, result.skipped, annotated, detection.check_images, file_name, expected)
    if image is None:
        return result
    raw, names = [], []
    for place, ann in anns:
        where = _name(place, ann)
        label = context.categories.get(ann.get("category_id"))
        if label is None:
            result.skipped.append(Skipped(source, None, f"{where}: unknown category_id {ann.get('category_id')!r}"))
            continue
        try:
            raw.append((label, _polygon(ann), bool(ann.get("iscrowd")), None))
            names.append(where)
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            result.skipped.append(Skipped(source, None, f"{where}: no usable bbox or polygon ({error})"))
    meta = {"coco_id": image_info.get("id")}
    detection_record(detection, Path(file_name).stem, image, raw, source, result, meta, names)
    return result


READER = Reader("coco", "COCO instances JSON (bbox and polygon segmentation)", prepare, read_unit)
