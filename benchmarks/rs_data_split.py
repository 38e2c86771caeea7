"""DOTA-train-scale conversion with patch splitting: `rs_data.convert` (DOTA reader + devkit-style split, 1024/200)
with 1 and 2 workers against a DOTA_devkit-style single-process split written as a plain loop (OpenCV decode and
PNG encode at its default, fastest compression; one shapely intersection per object and window in Python).

Generates `--images` DOTA images of `--side` pixels (smooth noise, so PNG sizes are image-like) with `--objects`
rotated boxes each (a mix of vehicles, ships and large objects, half of them clustered as in harbours and parking
lots), then prints images/s (and the CPU seconds spent, workers included) for the loop and for 1 and 2 workers, and
the ratios (targets on an idle machine: 1 worker no slower than the loop, 2 workers >= 1.8x the loop; on a busy one
the CPU seconds still show how much work each way does).

    uv run --no-sync python benchmarks/rs_data_split.py [--images 100] [--side 4000] [--objects 250]
"""

from __future__ import annotations

import argparse
import math
import resource
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import shapely
from PIL import Image
from rs_data.convert import convert
from rs_data.split import SplitConfig

CLASSES = ["small-vehicle", "large-vehicle", "ship", "plane", "storage-tank", "harbor"]
SIZE, GAP = 1024, 200
SIGNS = [(-1, -1), (1, -1), (1, 1), (-1, 1)]


def generate(root: Path, count: int, side: int, objects: int) -> None:
    """DOTA layout: `images/P*.png` and `labelTxt/P*.txt` with integer corners and difficult flags."""
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        coarse = rng.integers(0, 255, size=(side // 16, side // 16, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize((side, side), Image.BICUBIC).save(root / "images" / f"P{index:04d}.png")
        centres = rng.uniform(0, side, size=(objects, 2))
        clustered = objects // 2
        hubs = rng.uniform(0, side, size=(8, 2))
        centres[:clustered] = hubs[rng.integers(0, 8, clustered)] + rng.normal(0, 60, size=(clustered, 2))
        lines = ["imagesource:GoogleEarth", "gsd:0.15"]
        labels = rng.choice(CLASSES, objects, p=[0.4, 0.2, 0.2, 0.1, 0.05, 0.05])
        for (cx, cy), label in zip(centres, labels, strict=True):
            length = {"small-vehicle": 18, "large-vehicle": 40, "ship": 60}.get(label, 120) * rng.uniform(0.7, 1.3)
            width, angle = length * rng.uniform(0.3, 0.6), rng.uniform(0, math.pi)
            dx, dy = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
            corners = [np.array([cx, cy]) + sx * length / 2 * dx + sy * width / 2 * dy for sx, sy in SIGNS]
            coords = np.clip(np.round(np.array(corners)), 0, side - 1).astype(int).reshape(-1)
            lines.append(" ".join(map(str, coords)) + f" {label} {int(rng.random() < 0.1)}")
        (root / "labelTxt" / f"P{index:04d}.txt").write_text("\n".join(lines) + "\n")


def _starts(length: int) -> list[int]:
    starts, start = [], 0
    while start + SIZE < length:
        starts.append(start)
        start += SIZE - GAP
    return [*starts, max(length - SIZE, 0)]


def loop_split(src: Path, out: Path) -> None:
    """The devkit's procedure, one object and window at a time (label files written as the devkit writes them)."""
    (out / "images").mkdir(parents=True)
    (out / "labelTxt").mkdir()
    for label_file in sorted((src / "labelTxt").glob("*.txt")):
        image = cv2.imread(str(src / "images" / f"{label_file.stem}.png"))
        objects = []
        for line in label_file.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 9:
                objects.append(([int(float(v)) for v in parts[:8]], parts[8], parts[9] if len(parts) > 9 else "0"))
        height, width = image.shape[:2]
        for left in _starts(width):
            for up in _starts(height):
                right, down = min(left + SIZE, width - 1), min(up + SIZE, height - 1)
                window = shapely.Polygon([(left, up), (right, up), (right, down), (left, down)])
                rows = []
                for poly, label, difficult in objects:
                    shape = shapely.Polygon(np.reshape(poly, (4, 2)))
                    if shape.area <= 0:
                        continue
                    part = shape.intersection(window)
                    inside = part.area / shape.area
                    if inside == 1:
                        local = [v - (left if i % 2 == 0 else up) for i, v in enumerate(poly)]
                    elif inside > 0 and isinstance(part, shapely.Polygon):
                        corners = list(shapely.geometry.polygon.orient(part, sign=1.0).exterior.coords)[:-1]
                        if len(corners) != 4:
                            continue  # (the devkit also reduces 5-corner cuts; their cost is negligible here)
                        local = [min(max(int(c - o), 1), SIZE) for x, y in corners for c, o in ((x, left), (y, up))]
                        difficult = difficult if inside > 0.7 else "2"
                    else:
                        continue
                    rows.append(" ".join(str(float(v)) for v in local) + f" {label} {difficult}")
                name = f"{label_file.stem}__1__{left}___{up}"
                patch = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
                crop = image[up : up + SIZE, left : left + SIZE]
                patch[: crop.shape[0], : crop.shape[1]] = crop
                cv2.imwrite(str(out / "images" / f"{name}.png"), patch)
                (out / "labelTxt" / f"{name}.txt").write_text("".join(row + "\n" for row in rows))


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers), user and system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    function(*args)
    return time.perf_counter() - start, _cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--side", type=int, default=4000)
    parser.add_argument("--objects", type=int, default=250)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rs_data_split_"))
    try:
        generate(root / "src", args.images, args.side, args.objects)
        windows = len(_starts(args.side)) ** 2
        print(f"{args.images} images of {args.side}x{args.side}, {args.objects} objects each, {windows} patches each")
        config = SplitConfig(style="devkit", size=SIZE, gap=GAP)
        runs = {"loop": timed(loop_split, root / "src", root / "loop")}
        for workers in (1, 2):
            out = root / f"ours{workers}"
            runs[f"{workers} worker"] = timed(convert, "dota", root / "src", out, None, config, workers)
        for name, (value, cpu) in runs.items():
            print(f"{name:>9}: {args.images / value:6.2f} images/s ({value:.1f} s, {cpu:.1f} CPU s)")
        seconds = {name: value for name, (value, _) in runs.items()}
        print(f"1 worker / loop: {seconds['loop'] / seconds['1 worker']:.2f}x  (target >= 1.0)")
        print(f"2 workers / loop: {seconds['loop'] / seconds['2 worker']:.2f}x  (target >= 1.8)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
