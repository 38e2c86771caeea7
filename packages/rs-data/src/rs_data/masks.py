"""Segmentation masks as records store them (outer contours in original pixels) and as upstream's models write them.

A referring-segmentation answer is GeoGround's text mask as RSCoVLM trains it: the mask, resized (nearest neighbour)
to the size the model sees, is max-pooled over `factor` x `factor` cells (one per visual token) and written row by
row as run lengths `value*count`, runs joined by `,`, every row ended by `;` (e.g. `0*1,1*2;0*3;`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask
from rs_resolution import ImageFrame


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """A COCO run-length encoding (`{"size": [h, w], "counts": str | list}`) as an (h, w) uint8 mask of 0/1."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE is an object with 'size' [height, width] and 'counts'")
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        if sum(int(c) for c in counts) != height * width:
            raise ValueError(f"RLE counts sum to {sum(counts)}, not {height}x{width}")
        rle = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    elif isinstance(counts, str):
        rle = {"size": [height, width], "counts": counts.encode("ascii")}
    else:
        raise ValueError("RLE 'counts' must be a list of run lengths or a compressed string")
    return np.ascontiguousarray(coco_mask.decode(rle), dtype=np.uint8)


def outer_contours(mask: np.ndarray, close_kernel: int = 0) -> list[list[float]]:
    """The outer contours of a binary mask (holes filled), after an optional morphological closing with a square
    kernel of `close_kernel` pixels, each as `x1, y1, x2, y2, ...`.

    An even kernel size is made odd (50 -> 51): OpenCV's closing with an even kernel moves the mask by one pixel."""
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    if close_kernel > 0:
        size = close_kernel | 1
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    return [c.reshape(-1).astype(float).tolist() for c, h in zip(contours, hierarchy[0], strict=True) if h[3] == -1]


def rasterize(contours: Sequence[Sequence[float]], width: int, height: int) -> np.ndarray:
    """The (height, width) 0/1 mask that the filled `contours` cover (boundary pixels included)."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    for contour in contours:
        points = np.round(np.asarray(contour, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.drawContours(canvas, [points], 0, 1, thickness=cv2.FILLED)
    return canvas


def row_runs(grid: np.ndarray) -> str:
    """Row-wise run lengths of a 2-D grid: `value*count` runs joined by `,`, each row ended by `;`."""
    rows = []
    for row in np.asarray(grid):
        edges = np.flatnonzero(np.diff(row)) + 1
        starts = np.concatenate([[0], edges])
        lengths = np.diff(np.concatenate([starts, [len(row)]]))
        rows.append(",".join(f"{int(row[s])}*{int(n)}" for s, n in zip(starts, lengths, strict=True)))
    return "".join(f"{row};" for row in rows)


def mask_text(contours: Sequence[Sequence[float]], frame: ImageFrame, factor: int) -> str:
    """The text mask of `contours` (original pixels) for an image shown at `frame`'s resized size."""
    full = rasterize(contours, frame.width, frame.height)
    shown = np.asarray(Image.fromarray(full).resize((frame.resized_width, frame.resized_height), Image.NEAREST))
    rows, cols = frame.resized_height // factor, frame.resized_width // factor
    cells = shown[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor).max(axis=(1, 3))
    return row_runs(cells)
