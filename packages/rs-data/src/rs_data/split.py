"""DOTA-style patch splitting of large detection images, following DOTA_devkit's `ImgSplit`.

For each scale `rate` the image is resized by that factor (Pillow bicubic), then cut into `size` x `size` windows
that slide by `size - gap`; the last window of a row or column is moved back to end at the border. As in
DOTA_devkit, the window used for the objects ends at `width - 1` / `height - 1` while the pixels are cut up to the
border, and patches smaller than `size` are padded with black at the right and bottom when `padding` is on. A patch is
named `{image}__{rate}__{left}___{up}` (e.g. `P0001__1__0___824`, the rate written like Python's `%g`), the form
DOTA_devkit's result merge parses: original = (patch + offset) / rate.

Objects are clipped to the window (rs-resolution's `clip_poly`). One with at least `threshold` (default 0.7, as
DOTA_devkit) of its area inside keeps its difficult flag; one with less is kept, marked difficult and listed in
`meta["truncated"]` (DOTA_devkit writes difficult = 2). Empty patches are kept with probability `keep_empty`
(seeded per patch, so a rerun keeps the same ones).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field
from rs_resolution import CropWindow, ImageReadError, clip_poly, load_image, resize_image

from rs_data.readers._common import ReadResult
from rs_data.schema import DetectionAnnotation, ImageRef, ObjectAnn, Record, Skipped


class SplitConfig(BaseModel):
    """Window size, overlap, scales and the policies for truncated objects and empty patches."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(default=1024, gt=0)
    gap: int = Field(default=200, ge=0)
    rates: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    threshold: float = Field(default=0.7, gt=0.0, le=1.0)
    padding: bool = True
    keep_empty: float = Field(default=1.0, ge=0.0, le=1.0)
    image_format: str = "png"
    seed: int = 0

    def model_post_init(self, _context) -> None:
        if self.gap >= self.size:
            raise ValueError(f"gap {self.gap} must be smaller than the window size {self.size}")


def window_starts(length: int, size: int, gap: int) -> list[int]:
    """Start offsets along one side: step `size - gap`, the last window moved back to end at the border."""
    starts, start = [], 0
    while True:
        if start + size >= length:
            starts.append(max(length - size, 0))
            return starts
        starts.append(start)
        start += size - gap


def patch_name(image_id: str, rate: float, left: int, up: int) -> str:
    return f"{image_id}__{rate:g}__{left}___{up}"


def split_record(config: SplitConfig, out_dir: Path, record: Record) -> ReadResult:
    """Cut one detection record into patch records, writing the patch images under `out_dir`."""
    result = ReadResult()
    source = record.images[0].path
    try:
        image = load_image(source)
    except ImageReadError as error:
        result.skipped.append(Skipped(source, None, f"cannot split: {error}"))
        return result
    for rate in config.rates:
        width, height = max(1, round(image.width * rate)), max(1, round(image.height * rate))
        scaled = image if rate == 1 else resize_image(image, height, width)
        polygons = [np.asarray(o.polygon) * rate for o in record.annotation.objects]
        for left in window_starts(width, config.size, config.gap):
            for up in window_starts(height, config.size, config.gap):
                _write_patch(config, out_dir, record, scaled, polygons, rate, left, up, result)
    return result


def _write_patch(config, out_dir, record, scaled, polygons, rate, left, up, result) -> None:
    right, down = min(left + config.size, scaled.width - 1), min(up + config.size, scaled.height - 1)
    window = CropWindow(x0=left, y0=up, x1=right, y1=down)
    objects, truncated = [], []
    for obj, polygon in zip(record.annotation.objects, polygons, strict=True):
        clipped, fraction = clip_poly(polygon, window)
        if clipped is None:
            continue
        inside = fraction >= config.threshold
        if not inside:
            truncated.append(len(objects))
        local = window.to_crop(clipped.reshape(4, 2)).reshape(-1)
        objects.append(ObjectAnn(label=obj.label, polygon=local.tolist(), difficult=obj.difficult or not inside))
    name = patch_name(record.id, rate, left, up)
    if not objects and not _keep_empty(config, name):
        return
    crop = scaled.crop((left, up, min(left + config.size, scaled.width), min(up + config.size, scaled.height)))
    if config.padding and crop.size != (config.size, config.size):
        padded = Image.new("RGB", (config.size, config.size))
        padded.paste(crop, (0, 0))
        crop = padded
    path = out_dir / f"{name}.{config.image_format}"
    crop.save(path)
    meta = {"source_image": record.id, "rate": rate, "left": left, "up": up, "truncated": truncated}
    result.records.append(
        Record(
            id=name,
            dataset=record.dataset,
            task="detection",
            images=[ImageRef(path=str(path), width=crop.width, height=crop.height)],
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
