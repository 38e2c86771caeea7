"""Coordinate spaces: original pixels, the model's coordinate conventions, and crop windows.

Coordinates are continuous: ``x = 0`` is the left edge of the image and ``x = width`` its right edge (pixel ``i``
covers ``[i, i + 1)``). A convention maps ``[0, width] x [0, height]`` linearly onto a grid ``[0, R_x] x [0, R_y]``:

====================  ===================================  ==========================================
convention            grid ``R_x, R_y``                    used by
====================  ===================================  ==========================================
``"absolute"``        resized width, resized height        Qwen2.5-VL (pixels of the image it saw)
``"relative1000"``    1000, 1000                           Qwen3-VL, Qwen2-VL
``"relative100"``     100, 100                             GeoChat, VRSBench
``"relative1"``       1, 1                                 normalised floats
====================  ===================================  ==========================================

Quantisation rule (writing, ``to_model``): ``v = x * R_x / width`` is clipped to ``[0, R_x]`` and, for every convention
but ``"relative1"``, rounded half up to an integer (``floor(v + 0.5)``; not Python's half-to-even ``round``).
Inverse (reading, ``from_model``): ``x = v * width / R_x`` as float64, no rounding and no clipping, so a caller can
still see that a model answer lies outside the image. A round trip of a point inside the image moves it by at most
half a grid step, ``0.5 * width / R_x`` original pixels: at most half a pixel whenever the grid is at least as fine as
the image, and never more than one pixel for a Qwen2.5-VL image that was not shrunk by more than half.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Convention = Literal["absolute", "relative1000", "relative100", "relative1"]

_RELATIVE_GRID: dict[str, float] = {"relative1000": 1000.0, "relative100": 100.0, "relative1": 1.0}


class ImageFrame(BaseModel):
    """An original image (``width`` x ``height`` pixels) and the size the model saw it at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    resized_width: int = Field(gt=0)
    resized_height: int = Field(gt=0)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the original image."""
        return self.width, self.height

    @property
    def resized_size(self) -> tuple[int, int]:
        """``(resized_width, resized_height)``: the size the model saw."""
        return self.resized_width, self.resized_height


def grid_extent(frame: ImageFrame, convention: Convention) -> tuple[float, float]:
    """The grid ``(R_x, R_y)`` a convention maps the image onto."""
    if convention == "absolute":
        return float(frame.resized_width), float(frame.resized_height)
    if convention in _RELATIVE_GRID:
        extent = _RELATIVE_GRID[convention]
        return extent, extent
    known = sorted([*_RELATIVE_GRID, "absolute"])
    raise ValueError(f"unknown coordinate convention {convention!r}; use one of {known}")


def _as_points(points: np.ndarray | list, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., 2), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return array


def to_model(points: np.ndarray | list, frame: ImageFrame, convention: Convention) -> np.ndarray:
    """Map points ``(..., 2)`` in original pixels to model values (int64, or float64 for ``"relative1"``)."""
    array = _as_points(points, "points")
    extent = np.array(grid_extent(frame, convention))
    values = np.clip(array * extent / np.array([frame.width, frame.height], dtype=np.float64), 0.0, extent)
    if convention == "relative1":
        return values
    return np.floor(values + 0.5).astype(np.int64)


def from_model(values: np.ndarray | list, frame: ImageFrame, convention: Convention) -> np.ndarray:
    """Map model values ``(..., 2)`` back to original pixels (float64)."""
    array = _as_points(values, "model values")
    extent = np.array(grid_extent(frame, convention))
    return array * np.array([frame.width, frame.height], dtype=np.float64) / extent


class CropWindow(BaseModel):
    """A window of the full image in original pixels: columns ``x0..x1-1`` and rows ``y0..y1-1``.

    In continuous coordinates it covers ``[x0, x1] x [y0, y1]``; ``to_crop`` / ``to_full`` translate points between
    the full image and the crop (the crop's own pixels, origin at its top-left corner).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    x0: int
    y0: int
    x1: int
    y1: int

    @model_validator(mode="after")
    def _not_empty(self) -> CropWindow:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"crop window {self.corners} is empty: need x1 > x0 and y1 > y0")
        return self

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the crop."""
        return self.width, self.height

    @property
    def corners(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``, end exclusive (the form of `rs_resolution.cut_window` and image references)."""
        return self.x0, self.y0, self.x1, self.y1

    def to_crop(self, points: np.ndarray | list) -> np.ndarray:
        """Points ``(..., 2)`` in full-image pixels -> the crop's pixels."""
        return _as_points(points, "points") - np.array([self.x0, self.y0], dtype=np.float64)

    def to_full(self, points: np.ndarray | list) -> np.ndarray:
        """Points ``(..., 2)`` in the crop's pixels -> full-image pixels."""
        return _as_points(points, "points") + np.array([self.x0, self.y0], dtype=np.float64)
