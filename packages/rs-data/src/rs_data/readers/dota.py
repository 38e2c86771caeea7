"""DOTA labelTxt (v1.0 / v1.5 / v2.0): `images/NAME.png` beside `labelTxt/NAME.txt`.

Each line `x1 y1 ... x4 y4 class [difficult]` is one object; a malformed line (wrong number of fields, a coordinate
that is not a finite number, a flag that is not an integer) skips that object alone, reported with file and line.
DOTA labels carry no image size, so the image must be there (there is no `check_images` option).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from rs_detect_eval.dota_labels import HEADER_PREFIXES

from rs_data.readers._common import ClassFilter, ImageIndex, Reader, ReadResult, image_ref
from rs_data.readers.detection_common import DetectionContext, detection_record
from rs_data.schema import Skipped


def prepare(
    src: Path,
    images: str | Path | None = None,
    labels: str | Path | None = None,
    classes: str | list[str] | None = "dota1.0",
    dataset: str = "dota",
    split: str | None = None,
) -> tuple[DetectionContext, list[Path]]:
    """`src` holds `images/` and `labelTxt/` (or pass their paths); `classes` is a class-set name or list."""
    label_dir = Path(labels) if labels else src / "labelTxt"
    if not label_dir.is_dir():
        raise FileNotFoundError(f"{label_dir}: no labelTxt directory")
    image_dir = Path(images) if images else src / "images"
    context = DetectionContext(dataset, ImageIndex(image_dir), ClassFilter(classes), True, split)
    return context, sorted(label_dir.glob("*.txt"))


def parse_label_line(tokens: list[str]) -> tuple[list[float], str, bool]:
    """`(polygon, class, difficult)` of one object line; ValueError saying what is wrong with it."""
    if len(tokens) not in (9, 10):
        raise ValueError(f"expected 8 coordinates, a class and an optional flag, got {len(tokens)} fields")
    try:
        coords = [float(t) for t in tokens[:8]]
    except ValueError:
        raise ValueError(f"non-numeric coordinate in {' '.join(tokens[:8])!r}") from None
    if not all(math.isfinite(c) for c in coords):
        raise ValueError(f"non-finite coordinate in {' '.join(tokens[:8])!r}")
    if len(tokens) == 10 and not tokens[9].lstrip("-").isdigit():
        raise ValueError(f"difficult flag {tokens[9]!r} is not an integer")
    return coords, tokens[8], len(tokens) == 10 and int(tokens[9]) != 0


def label_objects(label_file: Path, skipped: list[Skipped]) -> Iterator[tuple[str, list[float], bool, int]]:
    """`(class, polygon, difficult, line)` of every good line; each bad line reported in `skipped`."""
    with label_file.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.lower().startswith(HEADER_PREFIXES):
                continue
            try:
                polygon, label, difficult = parse_label_line(text.split())
            except ValueError as error:
                skipped.append(Skipped(str(label_file), number, str(error)))
                continue
            yield label, polygon, difficult, number


def read_unit(context: DetectionContext, label_file: Path) -> ReadResult:
    result = ReadResult()
    source = str(label_file)
    try:
        objects = list(label_objects(label_file, result.skipped))
    except (OSError, UnicodeDecodeError) as error:
        result.skipped.append(Skipped(source, None, f"unreadable label file: {error}"))
        return result
    image = image_ref(context.images.find(label_file.stem), source, None, result.skipped, name=label_file.stem)
    if image is None:
        return result
    detection_record(context, label_file.stem, image, objects, source, result)
    return result


READER = Reader("dota", "DOTA labelTxt detection (oriented quadrilaterals, difficult flag)", prepare, read_unit)
