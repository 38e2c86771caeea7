"""The crop policy: from a requested region (original pixels) to the window cut from the full-resolution image."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from rs_resolution import CropWindow


class RegionOutsideImageError(ValueError):
    """The requested region does not overlap the image."""


class CropPolicy(BaseModel):
    """How a requested region grows into the crop.

    - `margin`: each side moves out by this fraction of the region's width (left/right) or height (top/bottom).
    - `min_size`: the crop is at least this many original pixels a side (unless the image is smaller).
    - `max_aspect_ratio`: the longer side is at most this many times the shorter (Qwen's smart_resize refuses > 200).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin: float = Field(0.25, ge=0)
    min_size: int = Field(224, ge=1)
    max_aspect_ratio: float = Field(200.0, ge=1)


def clamp_region(bbox: Sequence[float], size: tuple[int, int]) -> tuple[tuple[float, float, float, float], bool]:
    """Order the corners of `bbox` and clip it to an image of `size` (width, height).

    Returns the clipped box and whether anything was clipped. Raises `RegionOutsideImageError` when the box does not
    overlap the image at all.
    """
    width, height = size
    x1, x2 = sorted((float(bbox[0]), float(bbox[2])))
    y1, y2 = sorted((float(bbox[1]), float(bbox[3])))
    if x1 >= width or y1 >= height or x2 <= 0 or y2 <= 0:
        raise RegionOutsideImageError(f"region {list(bbox)} lies outside the {width}x{height} image")
    clipped = (max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height)))
    return clipped, clipped != (x1, y1, x2, y2)


def crop_window(bbox: Sequence[float], size: tuple[int, int], policy: CropPolicy | None = None) -> CropWindow:
    """The window (original pixels, end exclusive) to cut for a region `bbox` = x1, y1, x2, y2 of an image of `size`.

    The region is clipped to the image, grown by the margin, widened to the minimum size and the aspect-ratio limit
    around its centre, then shifted (not shrunk) to lie inside the image; only an image smaller than the crop caps it.
    """
    policy = policy or CropPolicy()
    width, height = size
    (x1, y1, x2, y2), _ = clamp_region(bbox, size)
    crop_w = max((x2 - x1) * (1 + 2 * policy.margin), policy.min_size)
    crop_h = max((y2 - y1) * (1 + 2 * policy.margin), policy.min_size)
    crop_w = max(crop_w, crop_h / policy.max_aspect_ratio)
    crop_h = max(crop_h, crop_w / policy.max_aspect_ratio)
    x0 = _place(x1, x2, crop_w, width)
    y0 = _place(y1, y2, crop_h, height)
    return CropWindow(x0=x0[0], y0=y0[0], x1=x0[1], y1=y0[1])


def _place(low: float, high: float, span: float, limit: int) -> tuple[int, int]:
    """Integer interval of length about `span` centred on [low, high], covering its pixels, inside [0, limit]."""
    first, last = math.floor(low), max(math.ceil(high), math.floor(low) + 1)
    length = min(max(math.ceil(span), last - first), limit)
    start = math.floor((low + high - length) / 2)
    start = min(max(start, last - length), first)
    start = min(max(start, 0), limit - length)
    return start, start + length
