"""The DOTA labelTxt reader: `x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]` a line, after optional header lines."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rs_detect_eval.records import ImageGT

#: Header lines of DOTA label files (`imagesource:GoogleEarth`, `gsd:0.146343590398`).
HEADER_PREFIXES = ("imagesource:", "gsd:")


class DotaLabelError(ValueError):
    """A malformed line in a DOTA label file; names the file and the 1-based line number."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def _parse_line(tokens: list[str], path: Path, number: int) -> tuple[list[float], str, bool]:
    if len(tokens) not in (9, 10):
        reason = f"expected 8 coordinates, a class and an optional flag, got {len(tokens)} fields"
        raise DotaLabelError(path, number, reason)
    try:
        coords = [float(t) for t in tokens[:8]]
    except ValueError:
        raise DotaLabelError(path, number, f"non-numeric coordinate in {' '.join(tokens[:8])!r}") from None
    if not all(math.isfinite(c) for c in coords):
        raise DotaLabelError(path, number, "non-finite coordinate")
    difficult = False
    if len(tokens) == 10:
        try:
            difficult = int(tokens[9]) != 0
        except ValueError:
            raise DotaLabelError(path, number, f"difficult flag {tokens[9]!r} is not an integer") from None
    return coords, tokens[8], difficult


def read_dota_label(path: str | Path, image_id: str | None = None) -> ImageGT:
    """Read one DOTA labelTxt file; the image id defaults to the file stem.

    Header lines and blank lines are skipped; any other malformed line raises DotaLabelError with file and line.
    A difficult flag other than 0 (DOTA uses 1, and 2 for objects cut by patch splitting) means difficult.
    """
    path = Path(path)
    polygons: list[list[float]] = []
    labels: list[str] = []
    difficult: list[bool] = []
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.lower().startswith(HEADER_PREFIXES):
                continue
            coords, label, hard = _parse_line(text.split(), path, number)
            polygons.append(coords)
            labels.append(label)
            difficult.append(hard)
    return ImageGT(
        image_id=image_id or path.stem,
        polygons=np.array(polygons, dtype=np.float64).reshape(-1, 8),
        labels=labels,
        difficult=np.array(difficult, dtype=bool),
    )


def read_dota_label_dir(directory: str | Path) -> list[ImageGT]:
    """Read every `*.txt` label file of a folder, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a folder of DOTA label files")
    return [read_dota_label(path) for path in sorted(directory.glob("*.txt"))]
