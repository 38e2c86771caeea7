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

from rs_data.readers._common import ClassFilter, ImageIndex, Reader, ReadResult, image_ref, load_json
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
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for ann in data["annotations"]:
        by_image[ann.get("image_id")].append(ann)
    context = CocoContext(
        DetectionContext(
            dataset, ImageIndex(Path(images) if images else src.parent), class_filter, check_images, split
        ),
        str(src),
        categories,
    )
    return context, [(image, by_image.get(image.get("id"), [])) for image in data["images"]]


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


def read_unit(context: CocoContext, unit: tuple[dict, list[dict]]) -> ReadResult:
    image_info, anns = unit
    result = ReadResult()
    source = context.source
    try:
        file_name = image_info["file_name"]
        annotated = (int(image_info["width"]), int(image_info["height"]))
    except (KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(source, None, f"image entry {image_info.get('id')!r}: bad field {error}"))
        return result
    detection = context.detection
    found, expected = detection.images.find(file_name), detection.images.expected(file_name)
    image = image_ref(found, source, None, result.skipped, annotated, detection.check_images, file_name, expected)
    if image is None:
        return result
    raw = []
    for ann in anns:
        where = f"annotation {ann.get('id')!r}"
        label = context.categories.get(ann.get("category_id"))
        if label is None:
            result.skipped.append(Skipped(source, None, f"{where}: unknown category_id {ann.get('category_id')!r}"))
            continue
        try:
            raw.append((label, _polygon(ann), bool(ann.get("iscrowd")), None))
        except (KeyError, TypeError, ValueError) as error:
            result.skipped.append(Skipped(source, None, f"{where}: no usable bbox or polygon ({error})"))
    detection_record(detection, Path(file_name).stem, image, raw, source, result, {"coco_id": image_info.get("id")})
    return result


READER = Reader("coco", "COCO instances JSON (bbox and polygon segmentation)", prepare, read_unit)
