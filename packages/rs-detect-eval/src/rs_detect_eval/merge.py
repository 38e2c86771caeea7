"""Merging detections on patches back to full images, with per-class rotated NMS.

Patch names follow the split tools: `P0706__1__0___158` is image `P0706`, a middle field (DOTA_devkit's rescale rate,
or the patch size in mmrotate's splitter), then the patch's left and top offsets in pixels. Offsets can also be given
explicitly. Overlapping results are reduced per image and class by greedy NMS on polygon IoU: a detection is removed
when its IoU with a higher-scored kept one exceeds `nms_iou` (0.1 by default, as both toolkits merge DOTA patches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rs_detect_eval.iou import hbb_overlap_pairs, pair_ious, polygon_hbbs
from rs_detect_eval.records import ImageDet

_PATCH_NAME = re.compile(r"^(?P<image>.+?)__(?P<middle>\d+(?:\.\d+)?)__(?P<left>-?\d+)___(?P<top>-?\d+)$")


#: A middle field this large or larger, written without a decimal point, is mmrotate's window size in pixels; smaller
#: integers and decimals are DOTA_devkit's rescale rate (it prints the rate as given: `1`, `2`, `0.5`, `1.0`).
MIN_WINDOW_SIZE = 16


@dataclass(frozen=True)
class PatchName:
    """The parts of a patch name: source image, middle field, and the patch's offset in the source image.

    `rate` is the patch's pixels per source pixel: DOTA_devkit's rate (it splits a rescaled image), or 1 for
    mmrotate's window size (it cuts larger windows from the unscaled image instead)."""

    image_id: str
    middle: float
    left: int
    top: int
    rate: float = 1.0


def parse_patch_name(name: str) -> PatchName:
    """Split `image__middle__left___top` (DOTA_devkit: `P0706__1__0___158`, `P0706__0.5__0___79`; mmrotate:
    `P0706__1024__0___158`); raises ValueError for any other form."""
    match = _PATCH_NAME.match(name)
    if match is None:
        raise ValueError(f"patch name {name!r} is not of the form IMAGE__RATE__LEFT___TOP (e.g. P0706__1__0___158)")
    middle = float(match["middle"])
    window_size = "." not in match["middle"] and middle >= MIN_WINDOW_SIZE
    rate = 1.0 if window_size else middle
    return PatchName(match["image"], middle, int(match["left"]), int(match["top"]), rate)


def rotated_nms(polygons: np.ndarray, scores: np.ndarray, groups: np.ndarray, iou_thr: float) -> np.ndarray:
    """Indices kept by greedy NMS within each group (highest score first, stable on ties), in score order."""
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    rows, cols = hbb_overlap_pairs(polygon_hbbs(polygons), polygon_hbbs(polygons), groups, groups)
    pairs = rows < cols
    rows, cols = rows[pairs], cols[pairs]
    overlapping = pair_ious(polygons, polygons, rows, cols) > iou_thr
    # edges from the higher-ranked detection to the lower-ranked one it would suppress
    high = np.where(rank[rows] < rank[cols], rows, cols)[overlapping]
    low = np.where(rank[rows] < rank[cols], cols, rows)[overlapping]
    by_high = np.argsort(high, kind="stable")
    high, low = high[by_high], low[by_high]
    starts = np.searchsorted(high, np.arange(len(polygons)))
    ends = np.searchsorted(high, np.arange(len(polygons)), side="right")
    suppressed = np.zeros(len(polygons), dtype=bool)
    kept = []
    for index in order:
        if not suppressed[index]:
            kept.append(index)
            suppressed[low[starts[index] : ends[index]]] = True
    return np.array(kept, dtype=np.int64)


def merge_patches(
    dets: Sequence[ImageDet],
    nms_iou: float = 0.1,
    offsets: Mapping[str, tuple[float, float]] | None = None,
    image_ids: Mapping[str, str] | None = None,
    rate_in_name: bool = False,
) -> list[ImageDet]:
    """Shift patch detections to full-image pixels and merge them per image with rotated NMS.

    Each patch's offset comes from `offsets` (patch id -> (left, top)) when given there, else from its name; its image
    from `image_ids` or the name. With `rate_in_name`, coordinates are divided after shifting by the rate the name
    implies (`PatchName.rate`: DOTA_devkit's rescale rate; 1 for mmrotate's window-size names).
    """
    offsets, image_ids = offsets or {}, image_ids or {}
    grouped: dict[str, list[ImageDet]] = {}
    for det in dets:
        if det.image_id in offsets:
            left, top = offsets[det.image_id]
            image_id, rate = image_ids.get(det.image_id, det.image_id), 1.0
        else:
            name = parse_patch_name(det.image_id)
            left, top, rate = name.left, name.top, (name.rate if rate_in_name else 1.0)
            image_id = image_ids.get(det.image_id, name.image_id)
        if rate <= 0:
            raise ValueError(f"patch {det.image_id!r}: rate must be positive")
        shifted = (det.polygons + np.tile([left, top], 4)) / rate
        grouped.setdefault(image_id, []).append(ImageDet(image_id, shifted, det.labels, det.scores))
    merged = []
    for image_id, parts in grouped.items():
        polygons = np.concatenate([p.polygons for p in parts])
        labels = [label for p in parts for label in p.labels]
        scores = np.concatenate([p.scores for p in parts])
        _, classes = np.unique(np.array(labels, dtype=object), return_inverse=True)
        keep = rotated_nms(polygons, scores, classes.astype(np.int64), nms_iou)
        merged.append(ImageDet(image_id, polygons[keep], [labels[i] for i in keep], scores[keep]))
    return merged
