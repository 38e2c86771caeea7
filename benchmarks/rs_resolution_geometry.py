"""Benchmark: rs_resolution's vectorised coordinate mapping and polygon -> OBB against per-box Python loops.

Run: ``uv run --no-sync python benchmarks/rs_resolution_geometry.py [--boxes 1000000] [--polygons 100000]``

1. Map N horizontal boxes from original pixels to Qwen2.5-VL absolute coordinates and back (``to_model`` /
   ``from_model``) against a plain Python loop doing the same arithmetic box by box.
2. Convert M 4-point polygons to normalised OBBs (``poly_to_obb``) against a loop calling ``cv2.minAreaRect`` per
   polygon and normalising in Python, as data converters usually do.
Both baselines run in this process on the same data (best of ``--repeat`` runs each); the outputs are compared before
the times are printed.
"""

from __future__ import annotations

import argparse
import math
import time

import cv2
import numpy as np
from rs_resolution import ImageFrame, from_model, obb_to_poly, poly_to_obb, to_model


def map_boxes_loop(boxes: list[list[float]], frame: ImageFrame) -> tuple[list[list[int]], list[list[float]]]:
    sx, sy = frame.resized_width / frame.width, frame.resized_height / frame.height
    written, read = [], []
    for x1, y1, x2, y2 in boxes:
        ints = [
            math.floor(min(max(x1 * sx, 0.0), frame.resized_width) + 0.5),
            math.floor(min(max(y1 * sy, 0.0), frame.resized_height) + 0.5),
            math.floor(min(max(x2 * sx, 0.0), frame.resized_width) + 0.5),
            math.floor(min(max(y2 * sy, 0.0), frame.resized_height) + 0.5),
        ]
        written.append(ints)
        read.append([ints[0] / sx, ints[1] / sy, ints[2] / sx, ints[3] / sy])
    return written, read


def map_boxes_vectorised(boxes: np.ndarray, frame: ImageFrame) -> tuple[np.ndarray, np.ndarray]:
    written = to_model(boxes.reshape(-1, 2, 2), frame, "absolute")
    return written.reshape(-1, 4), from_model(written, frame, "absolute").reshape(-1, 4)


def obb_loop(polygons: np.ndarray) -> list[tuple[float, ...]]:
    out = []
    for poly in polygons:
        (cx, cy), (w, h), angle = cv2.minAreaRect(poly.reshape(4, 2).astype(np.float32))
        if h > w:
            w, h, angle = h, w, angle + 90.0
        angle = (angle + 90.0) % 180.0 - 90.0
        out.append((cx, cy, w, h, angle))
    return out


def timed(repeat: int, fn, *args):
    """Result and best wall time of ``repeat`` calls."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=1_000_000)
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs, for every contender")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = ImageFrame(width=4000, height=3000, resized_width=1820, resized_height=1372)

    xy = rng.uniform(0, [4000, 3000], size=(args.boxes, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(2, 300, size=(args.boxes, 2))], axis=1)
    boxes_list = boxes.tolist()
    (loop_written, loop_read), t_loop = timed(args.repeat, map_boxes_loop, boxes_list, frame)
    (vec_written, vec_read), t_vec = timed(args.repeat, map_boxes_vectorised, boxes, frame)
    assert np.array_equal(np.array(loop_written), vec_written)
    assert np.allclose(np.array(loop_read), vec_read, rtol=0, atol=1e-9)
    print(f"map {args.boxes} boxes original -> absolute -> original")
    print(f"  python loop: {t_loop:8.3f} s   vectorised: {t_vec:8.3f} s   speed-up: {t_loop / t_vec:6.1f}x")

    centers = rng.uniform(0, 4000, size=(args.polygons, 2))
    sizes = rng.uniform(4, 200, size=(args.polygons, 2))
    angles = rng.uniform(-90, 90, size=(args.polygons, 1))
    polygons = obb_to_poly(np.concatenate([centers, sizes, angles], axis=1))
    polygons += rng.normal(0, 0.5, size=polygons.shape)  # annotation noise: not exact rectangles
    loop_obbs, t_cv2 = timed(args.repeat, obb_loop, polygons)
    vec_obbs, t_obb = timed(args.repeat, poly_to_obb, polygons)
    loop_area = np.array([o[2] * o[3] for o in loop_obbs])
    assert np.allclose(loop_area, vec_obbs[:, 2] * vec_obbs[:, 3], rtol=1e-4)
    print(f"convert {args.polygons} polygons -> OBB (minimum-area rectangle, normalised)")
    print(f"  cv2.minAreaRect loop: {t_cv2:8.3f} s   vectorised: {t_obb:8.3f} s   speed-up: {t_cv2 / t_obb:6.1f}x")


if __name__ == "__main__":
    main()
