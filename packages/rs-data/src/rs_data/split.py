"""Patch splitting of large detection images, reproducing the two splitters DOTA work is trained on.

`style="devkit"` is DOTA_devkit's `ImgSplit`: for each `rate` the image is resized (OpenCV bicubic) and cut into
`size` x `size` windows sliding by `size - gap`, the last one moved back to end at the border. Label coordinates are
int()-truncated first. An object wholly inside the window (which ends at `width - 1` / `height - 1`) is shifted and
truncated; one partly inside is replaced by its intersection with the window (shapely), dropped when that has fewer than
4 or more than 5 corners, a 5-corner cut reduced to 4 by merging its shortest edge into the edge's midpoint, its corners
rotated to the order closest to the original, shifted, truncated and clamped to [1, size]; it keeps its difficult flag
when more than `threshold` of its area is inside, else it is difficult 2. Patches are named
`{image}__{rate}__{left}___{up}` (`P0001__1__0___824`, rate printed like `%g`) and padded with black.

`style="mmrotate"` is mmrotate's `img_split.py` (its `ss` settings by default): windows of `int(size / rate)` source
pixels on the unscaled image (a rate enlarges the window instead of resizing the image), windows filled less than
`window_fill` by the image dropped unless none is filled more; an object is kept when its intersection over its own
area (`iof`) is at least `threshold`, with all 8 coordinates shifted in float32 and not clipped (they may lie outside
the patch), difficult 2 when `iof < 1`. Patches are named `{image}__{window}__{left}___{up}` (`P0001__1024__0___824`)
and padded with mmrotate's mean colour (RGB 124, 116, 104).

In records, difficult 2 is `difficult=True` with the object's index in `meta["truncated"]`; `meta["dropped"]` counts
the objects that reach into the window but are left out by the style's rules. `meta["rate"]` is patch pixels per
source pixel, so a patch point maps back to the source as `(point + (left, up)) / rate`. Empty patches are kept with
probability `keep_empty` (seeded per patch, so a rerun keeps the same ones).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import shapely
import shapely.geometry
from pydantic import BaseModel, ConfigDict, Field
from rs_resolution import ImageReadError, check_window, load_image

from rs_data.readers._common import ReadResult
from rs_data.schema import DetectionAnnotation, ImageRef, ObjectAnn, Record, Skipped

SplitStyle = Literal["devkit", "mmrotate"]
#: The colour (RGB) each style pads patches with.
PAD_COLOURS: dict[str, tuple[int, int, int]] = {"devkit": (0, 0, 0), "mmrotate": (124, 116, 104)}


class SplitConfig(BaseModel):
    """Which splitter to reproduce, window size, overlap, scales and the policies for cut objects and empty patches."""

    model_config = ConfigDict(extra="forbid")

    style: SplitStyle = "devkit"
    size: int = Field(default=1024, gt=0)
    gap: int = Field(default=200, ge=0)
    rates: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    window_fill: float = Field(default=0.6, ge=0.0, le=1.0, description="mmrotate's img_rate_thr")
    padding: bool = True
    keep_empty: float = Field(default=1.0, ge=0.0, le=1.0)
    image_format: str = "png"
    seed: int = 0

    def model_post_init(self, _context) -> None:
        if self.gap >= self.size:
            raise ValueError(f"gap {self.gap} must be smaller than the window size {self.size}")
        if any(rate <= 0 for rate in self.rates):
            raise ValueError(f"rates must be positive, got {self.rates}")


@dataclass(frozen=True)
class Patch:
    """One window: its name, top-left offset and size in the (scaled) image, and patch pixels per source pixel."""

    name: str
    left: int
    up: int
    size: int
    rate: float = 1.0


@dataclass(frozen=True)
class Cut:
    """The objects one window keeps: polygons in patch pixels, whether each was truncated, how many were left out."""

    polygons: list[list[float]]
    indices: list[int]
    truncated: list[bool]
    dropped: int


def window_starts(length: int, size: int, gap: int) -> list[int]:
    """DOTA_devkit's start offsets on one side: step `size - gap`, the last window moved back to end at the border."""
    starts, start = [], 0
    while True:
        if start + size >= length:
            starts.append(max(length - size, 0))
            return starts
        starts.append(start)
        start += size - gap


def mmrotate_starts(length: int, size: int, gap: int) -> list[int]:
    """mmrotate's start offsets: `ceil((length - size) / step + 1)` windows, the last moved back inside the image."""
    step = size - gap
    count = 1 if length <= size else math.ceil((length - size) / step + 1)
    starts = [step * i for i in range(count)]
    if len(starts) > 1 and starts[-1] + size > length:
        starts[-1] = length - size
    return starts


def mmrotate_windows(width: int, height: int, config: SplitConfig) -> list[tuple[int, int, int]]:
    """(left, up, window size) of every window mmrotate keeps for one image, over all rates."""
    windows = []
    for rate in config.rates:
        size, gap = int(config.size / rate), int(config.gap / rate)
        xs, ys = mmrotate_starts(width, size, gap), mmrotate_starts(height, size, gap)
        windows += [(x, y, size) for x in xs for y in ys]
    fill = np.array([(min(x + s, width) - x) * (min(y + s, height) - y) / (s * s) for x, y, s in windows])
    if not (fill > config.window_fill).any():
        fill[np.abs(fill - fill.max()) < 0.01] = 1.0
    return [window for window, keep in zip(windows, fill > config.window_fill, strict=True) if keep]


def patch_name(image_id: str, middle: float, left: int, up: int) -> str:
    """`image__middle__left___up`: the middle is DOTA_devkit's rate or mmrotate's window size."""
    return f"{image_id}__{middle:g}__{left}___{up}"


def _rectangle(left: float, up: float, right: float, down: float) -> shapely.Polygon:
    """The window as both tools build it: corners from the top-left, clockwise on screen."""
    return shapely.Polygon([(left, up), (right, up), (right, down), (left, down)])


def _overlapping(polygons: np.ndarray, left: float, up: float, right: float, down: float) -> np.ndarray:
    """Indices of polygons whose bounding box overlaps the window with a positive area."""
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    width = np.minimum(xs.max(axis=1), right) - np.maximum(xs.min(axis=1), left)
    height = np.minimum(ys.max(axis=1), down) - np.maximum(ys.min(axis=1), up)
    return np.flatnonzero((width > 0) & (height > 0))


def _five_to_four(points: np.ndarray) -> np.ndarray:
    """Merge the shortest edge of a pentagon (edge i joins corner i to i + 1) into its midpoint."""
    dx, dy = (np.roll(points, -1, axis=0) - points).T
    lengths = np.sqrt(dx * dx + dy * dy)
    shortest = int(np.argsort(lengths)[0])
    following = (shortest + 1) % 5
    merged = (points[shortest] + points[following]) / 2
    corners = [merged if i == shortest else points[i] for i in range(5) if i != following]
    return np.array(corners)


def _closest_rotation(points: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The cyclic rotation of four corners with the least squared distance to the original corners."""
    rotations = [np.roll(points, -shift, axis=0) for shift in range(4)]
    distances = np.array([np.sum((r.reshape(-1) - original) ** 2) for r in rotations])
    return rotations[int(np.argsort(distances)[0])]


def devkit_cut(polygons: np.ndarray, left: int, up: int, right: int, down: int, size: int, threshold: float) -> Cut:
    """The objects DOTA_devkit writes for the window (left, up, right, down) of a `size` patch."""
    kept, indices, truncated, dropped = [], [], [], 0
    window = _rectangle(left, up, right, down)
    candidates = _overlapping(polygons, left, up, right, down)
    shapes = shapely.polygons(polygons[candidates].reshape(-1, 4, 2))
    areas = shapely.area(shapes)
    parts = shapely.intersection(shapes, window)
    for index, original, area, part in zip(candidates, polygons[candidates], areas, parts, strict=True):
        if area <= 0:
            continue
        inside = part.area / area
        if inside == 1:
            kept.append(np.trunc(original - np.tile([left, up], 4)).tolist())
        elif inside > 0:
            corners = _cut_corners(part, original)
            if corners is None:
                dropped += 1
                continue
            local = np.clip(np.trunc(corners - np.tile([left, up], 4)), 1, size)
            kept.append(local.tolist())
        else:
            continue
        indices.append(int(index))
        truncated.append(inside != 1 and inside <= threshold)
    return Cut(kept, indices, truncated, dropped)


def _cut_corners(part, original: np.ndarray) -> np.ndarray | None:
    """The four corners DOTA_devkit makes of a cut object, or None when it drops the cut."""
    if not isinstance(part, shapely.Polygon):
        return None
    points = np.asarray(shapely.geometry.polygon.orient(part, sign=1.0).exterior.coords)[:-1]
    if len(points) == 5:
        points = _five_to_four(points)
    if len(points) != 4:
        return None
    return _closest_rotation(points, original).reshape(-1)


def mmrotate_cut(polygons: np.ndarray, left: int, up: int, size: int, threshold: float) -> Cut:
    """The objects mmrotate writes for the window at (left, up) of `size` pixels; `polygons` are float32."""
    candidates = _overlapping(polygons, left, up, left + size, up + size)
    shapes = shapely.polygons(polygons[candidates].reshape(-1, 4, 2).astype(np.float64))
    overlaps = shapely.area(shapely.intersection(shapes, _rectangle(left, up, left + size, up + size)))
    iofs = overlaps / np.clip(shapely.area(shapes).astype(np.float32), 1e-6, np.inf)
    keep = iofs >= threshold
    shift = np.array([-left, -up] * 4, dtype=np.float32)
    local = polygons[candidates[keep]] + shift
    return Cut(
        [[float(v) for v in row] for row in local],
        candidates[keep].tolist(),
        (iofs[keep] < 1).tolist(),
        int((~keep & (overlaps > 0)).sum()),
    )


def read_bgr(path: str | Path) -> np.ndarray:
    """The image as 8-bit BGR: decoded by OpenCV, as both tools do, when it is plain 8-bit colour; other kinds (alpha,
    grey, 16-bit, TIFF bands) by rs-resolution's `load_image` rules."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if Path(path).is_file() else None
    if pixels is not None and pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3:
        return pixels
    return np.ascontiguousarray(np.asarray(load_image(path))[..., ::-1])


def split_record(config: SplitConfig, out_dir: Path, record: Record) -> ReadResult:
    """Cut one detection record into patch records, writing the patch images under `out_dir`."""
    result = ReadResult()
    source, window = record.images[0].path, record.images[0].window
    try:
        bgr = read_bgr(source)
        if window is not None:  # the record's pixels are that window of the file
            check_window(window, (bgr.shape[1], bgr.shape[0]), source)
            bgr = np.ascontiguousarray(bgr[window[1] : window[3], window[0] : window[2]])
    except ImageReadError as error:
        result.skipped.append(Skipped(source, None, f"cannot split: {error}"))
        return result
    polygons = np.array([o.polygon for o in record.annotation.objects], dtype=np.float64).reshape(-1, 8)
    if config.style == "mmrotate":
        single = polygons.astype(np.float32)
        for left, up, size in mmrotate_windows(bgr.shape[1], bgr.shape[0], config):
            patch = Patch(patch_name(record.id, size, left, up), left, up, size)
            cut = mmrotate_cut(single, left, up, size, config.threshold)
            _add_patch(config, out_dir, record, bgr, patch, cut, result)
        return result
    for rate in config.rates:
        pixels = bgr if rate == 1 else cv2.resize(bgr, None, fx=rate, fy=rate, interpolation=cv2.INTER_CUBIC)
        height, width = pixels.shape[:2]
        scaled = np.trunc(polygons) * rate
        for left in window_starts(width, config.size, config.gap):
            for up in window_starts(height, config.size, config.gap):
                right, down = min(left + config.size, width - 1), min(up + config.size, height - 1)
                patch = Patch(patch_name(record.id, rate, left, up), left, up, config.size, rate)
                cut = devkit_cut(scaled, left, up, right, down, config.size, config.threshold)
                _add_patch(config, out_dir, record, pixels, patch, cut, result)
    return result


def _add_patch(
    config: SplitConfig, out_dir: Path, record: Record, bgr: np.ndarray, patch: Patch, cut: Cut, result: ReadResult
) -> None:
    """Write the patch image (padded when asked) and append its record, unless it is an empty patch left out."""
    if not cut.polygons and not _keep_empty(config, patch.name):
        return
    size = patch.size
    crop = bgr[patch.up : patch.up + size, patch.left : patch.left + size]
    source_objects = record.annotation.objects
    objects = [
        ObjectAnn(label=source_objects[i].label, polygon=poly, difficult=source_objects[i].difficult or cut_off)
        for poly, i, cut_off in zip(cut.polygons, cut.indices, cut.truncated, strict=True)
    ]
    if config.padding and crop.shape[:2] != (size, size):
        padded = np.empty((size, size, 3), dtype=np.uint8)
        padded[...] = PAD_COLOURS[config.style][::-1]
        padded[: crop.shape[0], : crop.shape[1]] = crop
        crop = padded
    path = out_dir / f"{patch.name}.{config.image_format}"
    if not cv2.imwrite(str(path), crop):
        raise OSError(f"{path}: cannot write the patch image")
    meta = {
        "source_image": record.id,
        "style": config.style,
        "rate": patch.rate,
        "left": patch.left,
        "up": patch.up,
        "truncated": [k for k, flag in enumerate(cut.truncated) if flag],
        "dropped": cut.dropped,
    }
    result.records.append(
        Record(
            id=patch.name,
            dataset=record.dataset,
            task="detection",
            images=[ImageRef(path=str(path), width=crop.shape[1], height=crop.shape[0])],
            annotation=DetectionAnnotation(objects=objects, classes=record.annotation.classes),
            split=record.split,
            meta=meta,
        )
    )


def _keep_empty(config: SplitConfig, name: str) -> bool:
    if config.keep_empty >= 1.0:
        return True
    draw = np.random.default_rng([config.seed, zlib.crc32(name.encode())]).random()
    return bool(draw < config.keep_empty)
