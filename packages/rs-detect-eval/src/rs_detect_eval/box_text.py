"""Writing boxes as text: the upstream-compatible plain and JSON answer forms (see `parse_objects` for reading).

Plain, one object a line: HBB `x1,y1,x2,y2 label`, polygon `x1,y1,...,x4,y4 label`, OBB `cx,cy,w,h,a label` (w >= h,
integer degrees in [-90, 90)). JSON: a fenced list of `{"bbox_2d": [...], "label": ...}` (HBB),
`{"quadrant bbox": [8 values], ...}` or `{"oriented bbox": [5 values], ...}`. An empty answer is `There are none.`
Objects are ordered by (class text, y, x) of the top-most, then left-most corner of the written box; class names are
written in their text form (lower-case, '-' and '_' as spaces); a label of "" writes a bare box (grounding).

Coordinates are written in the model's convention through `rs_resolution.to_model`. An OBB is the minimum-area
rectangle of the polygon mapped (without rounding) to the model's grid, so it is a rectangle in the space the model
sees; its centre and sides are then rounded half up and its angle to whole degrees.

Every box stays in the image. HBB and polygon coordinates are clamped to it; an OBB whose rectangle leaves the image
is replaced by the rectangle of the object's HBB target (its bounding box clamped to the image, angle 0 or -90), so
all three box types write the same box for an object they cannot write inside. `format_objects(..., clipped=[])`
reports each object changed so, with its reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from rs_resolution import (
    Convention,
    ImageFrame,
    canonical_poly,
    grid_extent,
    hbb_to_poly,
    obb_to_poly,
    poly_to_hbb,
    poly_to_obb,
    to_model,
)

from rs_detect_eval.classes import normalize_class

BoxType = Literal["hbb", "obb", "poly"]
TextStyle = Literal["plain", "json"]

EMPTY_ANSWER = "There are none."
JSON_KEYS: dict[str, str] = {"hbb": "bbox_2d", "poly": "quadrant bbox", "obb": "oriented bbox"}
BOX_LENGTHS: dict[str, int] = {"hbb": 4, "poly": 8, "obb": 5}
#: What writing does to a box that leaves the image, by box type.
CLIP_REASONS: dict[str, str] = {
    "hbb": "box clamped to the image",
    "poly": "corners clamped to the image",
    "obb": "oriented box replaced by its HBB box clamped to the image",
}


def _round_half_up(values: np.ndarray) -> np.ndarray:
    return np.floor(values + 0.5)


def _outside(points: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """(N,) whether any point of each object (N, K, 2) lies outside the grid [0, extent] (beyond rounding noise)."""
    slack = 1e-9 * extent
    return ((points < -slack) | (points > extent + slack)).any(axis=(1, 2))


def _obb_inside(points: np.ndarray, extent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OBBs (N, 5) of polygons (N, 4, 2) on the grid, each inside it, and (N,) which were replaced by their HBB box."""
    obb = poly_to_obb(points.reshape(-1, 8))
    leaving = _outside(obb_to_poly(obb).reshape(-1, 4, 2), extent)
    if leaving.any():
        hbb = np.clip(poly_to_hbb(points[leaving].reshape(-1, 8)), 0.0, np.tile(extent, 2))
        obb[leaving] = poly_to_obb(hbb_to_poly(hbb))
    return obb, leaving


def box_arrays(
    polygons: np.ndarray,
    box_type: BoxType,
    frame: ImageFrame,
    convention: Convention,
    clipped: list[int] | None = None,
) -> np.ndarray:
    """The numbers that stand for polygons (N, 8) in original pixels, in the model's convention: (N, 4 | 5 | 8).

    The index of every object whose box had to be brought into the image is appended to `clipped` when given.
    """
    polygons = np.asarray(polygons, dtype=np.float64).reshape(-1, 8)
    if box_type not in BOX_LENGTHS:
        raise ValueError(f"unknown box type {box_type!r}: use 'hbb', 'obb' or 'poly'")
    extent = np.array(grid_extent(frame, convention))
    grid_points = polygons.reshape(-1, 4, 2) * extent / np.array([frame.width, frame.height], dtype=np.float64)
    if box_type == "obb":
        obb, outside = _obb_inside(grid_points, extent)
        angle = _round_half_up(obb[:, 4])
        angle = np.where(angle >= 90.0, -90.0, angle)
        sides = obb[:, :4] if convention == "relative1" else _round_half_up(obb[:, :4])
        values = np.column_stack([sides, angle])
    else:
        outside = _outside(grid_points, extent)
        corners = poly_to_hbb(polygons) if box_type == "hbb" else canonical_poly(polygons)
        points = corners.reshape(len(polygons), -1, 2)
        values = to_model(points, frame, convention).reshape(len(polygons), -1)
    if clipped is not None:
        clipped.extend(int(i) for i in np.flatnonzero(outside))
    return values


def box_values(polygon: np.ndarray, box_type: BoxType, frame: ImageFrame, convention: Convention) -> list[float | int]:
    """The numbers that stand for one polygon (8,) in original pixels, in the model's convention."""
    return _numbers(box_arrays(polygon, box_type, frame, convention)[0], box_type, convention)


def _numbers(values: np.ndarray, box_type: BoxType, convention: Convention) -> list[float | int]:
    """Written form of one box: integers, or 4-decimal floats for relative1 (an OBB's angle is always an integer)."""
    if convention != "relative1":
        return [int(v) for v in values]
    if box_type == "obb":
        return [*(round(float(v), 4) for v in values[:4]), int(values[4])]
    return [round(float(v), 4) for v in values]


def _top_left(values: np.ndarray, box_type: BoxType) -> np.ndarray:
    """(N, 2) ``(y, x)`` of the top-most, then left-most corner of each written box."""
    if box_type == "hbb":
        return values[:, [1, 0]]
    polygons = obb_to_poly(values) if box_type == "obb" else values
    start = canonical_poly(polygons)
    return start[:, [1, 0]]


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
    clipped: list[str] | None = None,
) -> str:
    """The answer text for (label, polygon (8,) in original pixels) objects; `There are none.` when empty.

    Each object whose box had to be brought into the image is reported in `clipped` (when given) with the reason.
    """
    if style not in ("plain", "json"):
        raise ValueError(f"unknown text style {style!r}: use 'plain' or 'json'")
    checked = _checked(objects)
    if not checked:
        return EMPTY_ANSWER
    changed: list[int] = []
    arrays = box_arrays(np.stack([polygon for _, polygon in checked]), box_type, frame, convention, changed)
    if clipped is not None:
        reason = CLIP_REASONS[box_type]
        clipped.extend(f"object {i} ({checked[i][0]!r}): leaves the image; {reason}" for i in changed)
    corners = _top_left(arrays, box_type).tolist()
    rows = sorted(
        (
            (normalize_class(label), _numbers(row, box_type, convention), corner)
            for (label, _), row, corner in zip(checked, arrays, corners, strict=True)
        ),
        key=lambda row: (row[0], *row[2]),
    )
    rows = [(label, numbers) for label, numbers, _ in rows]
    if style == "plain":
        return "\n".join(",".join(str(v) for v in values) + (f" {label}" if label else "") for label, values in rows)
    items = []
    for label, values in rows:
        item: dict[str, object] = {JSON_KEYS[box_type]: values}
        if label:
            item["label"] = label
        items.append("\t" + json.dumps(item, ensure_ascii=False))
    return "```json\n[\n" + ",\n".join(items) + "\n]\n```"
