"""Writing boxes as text: the upstream-compatible plain and JSON answer forms (see `parse_objects` for reading).

Plain, one object a line: HBB `x1,y1,x2,y2 label`, polygon `x1,y1,...,x4,y4 label`, OBB `cx,cy,w,h,a label` (w >= h,
integer degrees in [-90, 90)). JSON: a fenced list of `{"bbox_2d": [...], "label": ...}` (HBB),
`{"quadrant bbox": [8 values], ...}` or `{"oriented bbox": [5 values], ...}`. An empty answer is `There are none.`
Objects are ordered by (class text, y, x) of their top-most, then left-most vertex; class names are written in their
text form (lower-case, '-' and '_' as spaces); a label of "" writes a bare box (grounding).

Coordinates are written in the model's convention through `rs_resolution.to_model`. An OBB is fitted to the polygon
after mapping its vertices to model values, so it is a rectangle in the space the model sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from rs_resolution import Convention, ImageFrame, canonical_poly, poly_to_hbb, poly_to_obb, to_model

from rs_detect_eval.classes import normalize_class

BoxType = Literal["hbb", "obb", "poly"]
TextStyle = Literal["plain", "json"]

EMPTY_ANSWER = "There are none."
JSON_KEYS: dict[str, str] = {"hbb": "bbox_2d", "poly": "quadrant bbox", "obb": "oriented bbox"}
BOX_LENGTHS: dict[str, int] = {"hbb": 4, "poly": 8, "obb": 5}


def _round_half_up(values: np.ndarray) -> np.ndarray:
    return np.floor(values + 0.5)


def box_values(polygon: np.ndarray, box_type: BoxType, frame: ImageFrame, convention: Convention) -> list[float | int]:
    """The numbers that stand for one polygon (8,) in original pixels, in the model's convention."""
    polygon = np.asarray(polygon, dtype=np.float64)
    if box_type == "hbb":
        values = to_model(poly_to_hbb(polygon).reshape(2, 2), frame, convention).reshape(-1)
    elif box_type == "poly":
        values = to_model(canonical_poly(polygon).reshape(4, 2), frame, convention).reshape(-1)
    elif box_type == "obb":
        model_points = to_model(polygon.reshape(4, 2), frame, convention).astype(np.float64)
        cx, cy, w, h, angle = poly_to_obb(model_points.reshape(8))
        angle = _round_half_up(angle)
        angle = -90.0 if angle >= 90.0 else angle
        values = np.array([cx, cy, w, h])
        values = values if convention == "relative1" else _round_half_up(values)
        return [*_numbers(values, convention), int(angle)]
    else:
        raise ValueError(f"unknown box type {box_type!r}: use 'hbb', 'obb' or 'poly'")
    return _numbers(values, convention)


def _numbers(values: np.ndarray, convention: Convention) -> list[float | int]:
    if convention == "relative1":
        return [round(float(v), 4) for v in values]
    return [int(v) for v in values]


def _sort_key(item: tuple[str, np.ndarray]) -> tuple[str, float, float]:
    label, polygon = item
    start = canonical_poly(polygon)
    return normalize_class(label), float(start[1]), float(start[0])


def _checked(objects: Sequence[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    checked = []
    for index, (label, polygon) in enumerate(objects):
        array = np.asarray(polygon, dtype=np.float64).reshape(-1)
        if array.shape != (8,) or not all(math.isfinite(v) for v in array):
            raise ValueError(f"object {index} ({label!r}): polygon must be 8 finite numbers, got {polygon!r}")
        checked.append((label, array))
    return checked


def format_objects(
    objects: Sequence[tuple[str, np.ndarray]],
    box_type: BoxType,
    style: TextStyle,
    frame: ImageFrame,
    convention: Convention,
) -> str:
    """The answer text for (label, polygon (8,) in original pixels) objects; `There are none.` when empty."""
    if style not in ("plain", "json"):
        raise ValueError(f"unknown text style {style!r}: use 'plain' or 'json'")
    ordered = sorted(_checked(objects), key=_sort_key)
    if not ordered:
        return EMPTY_ANSWER
    rows = [(normalize_class(label), box_values(polygon, box_type, frame, convention)) for label, polygon in ordered]
    if style == "plain":
        return "\n".join(",".join(str(v) for v in values) + (f" {label}" if label else "") for label, values in rows)
    items = []
    for label, values in rows:
        item: dict[str, object] = {JSON_KEYS[box_type]: values}
        if label:
            item["label"] = label
        items.append("\t" + json.dumps(item, ensure_ascii=False))
    return "```json\n[\n" + ",\n".join(items) + "\n]\n```"
