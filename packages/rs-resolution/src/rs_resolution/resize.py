"""Qwen dynamic resolution: the size an image is resized to, its token cost, and random-resize augmentation.

``smart_resize`` reproduces two reference implementations exactly, selected by ``convention``:

- ``"qwen-vl-utils"``: ``qwen_vl_utils.smart_resize`` of qwen-vl-utils 0.0.11 (what upstream RSCoVLM calls). Each
  side is first rounded to a multiple of ``factor`` with Python's ``round`` (half to even: 70 -> 56 for factor 28) and
  raised to at least ``factor``; if the area is then above ``max_pixels`` (below ``min_pixels``) both sides are scaled
  by the same factor and floored (ceiled) to a multiple of ``factor``.
- ``"transformers"``: ``smart_resize`` of ``Qwen2VLImageProcessor`` in transformers. The same, except that the first
  rounding is not raised to ``factor`` and the floor of the ``max_pixels`` branch is.

Both raise ``ValueError`` when the aspect ratio exceeds 200 (like the references) and when a side is not positive (where
the references would divide by zero).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

ResizeConvention = Literal["qwen-vl-utils", "transformers"]

IMAGE_FACTOR = 28
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
MAX_RATIO = 200
MERGE_SIZE = 2


def smart_resize(
    height: int,
    width: int,
    factor: int = IMAGE_FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
    convention: ResizeConvention = "qwen-vl-utils",
) -> tuple[int, int]:
    """Return ``(resized_height, resized_width)``: multiples of ``factor``, area within the budget, aspect kept."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image sides must be positive, got height={height}, width={width}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, got {max(height, width) / min(height, width)}"
        )
    if convention == "qwen-vl-utils":
        h_bar = max(factor, round(height / factor) * factor)
        w_bar = max(factor, round(width / factor) * factor)
        floor_min = 0
    elif convention == "transformers":
        h_bar = round(height / factor) * factor
        w_bar = round(width / factor) * factor
        floor_min = factor
    else:
        raise ValueError(f"unknown smart_resize convention {convention!r}; use 'qwen-vl-utils' or 'transformers'")
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(floor_min, math.floor(height / beta / factor) * factor)
        w_bar = max(floor_min, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def visual_tokens(resized_height: int, resized_width: int, factor: int = IMAGE_FACTOR) -> int:
    """LLM tokens an image of this (already smart-resized) size costs after the 2x2 patch merge."""
    if resized_height <= 0 or resized_width <= 0 or resized_height % factor or resized_width % factor:
        raise ValueError(
            f"resized size {resized_height}x{resized_width} (height x width) must be positive multiples of {factor}"
        )
    return (resized_height // factor) * (resized_width // factor)


def random_resize(
    height: int,
    width: int,
    min_pixels: int,
    max_pixels: int,
    factor: int,
    rng: np.random.Generator,
    convention: ResizeConvention = "qwen-vl-utils",
) -> tuple[int, int]:
    """Random-resize augmentation: a target area drawn uniformly in ``[min_pixels, max_pixels]``.

    Both sides are scaled by ``sqrt(target / (height * width))`` (aspect ratio kept), rounded to integers and passed
    through ``smart_resize`` with the same budget, so the result obeys the same rules as an unaugmented image. The draw
    comes from ``rng`` only, so a seeded generator reproduces it. Returns ``(resized_height, resized_width)``.
    """
    if not 0 < min_pixels <= max_pixels:
        raise ValueError(f"need 0 < min_pixels <= max_pixels, got min_pixels={min_pixels}, max_pixels={max_pixels}")
    if height <= 0 or width <= 0:
        raise ValueError(f"image sides must be positive, got height={height}, width={width}")
    target = rng.uniform(min_pixels, max_pixels)
    scale = math.sqrt(target / (height * width))
    scaled_height = max(1, round(height * scale))
    scaled_width = max(1, round(width * scale))
    return smart_resize(scaled_height, scaled_width, factor, min_pixels, max_pixels, convention)
