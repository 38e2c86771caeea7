"""DOTA Task1 result files: `Task1_<class>.txt`, one detection a line: `image score x1 y1 x2 y2 x3 y3 x4 y4`."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rs_detect_eval.classes import normalize_class
from rs_detect_eval.records import ImageDet

TASK1_PREFIX = "Task1_"


class Task1FormatError(ValueError):
    """A malformed line in a Task1 file; names the file and the 1-based line number."""


def write_task1(
    dets: Sequence[ImageDet], out_dir: str | Path, classes: Sequence[str], zip_path: str | Path | None = None
) -> list[Path]:
    """Write one Task1 file per class (empty when the class has no detection), optionally zipped for submission.

    Lines follow the order of `dets`, then the order within each image; numbers are written in Python's shortest
    round-trip form, so reading the files back gives the same floats. Detections of other classes raise ValueError.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_text = {normalize_class(name): name for name in classes}
    lines: dict[str, list[str]] = {name: [] for name in classes}
    for det in dets:
        for polygon, label, score in zip(det.polygons, det.labels, det.scores, strict=True):
            name = by_text.get(normalize_class(label))
            if name is None:
                raise ValueError(f"image {det.image_id!r}: class {label!r} is not one of the {len(classes)} classes")
            lines[name].append(" ".join([det.image_id, repr(float(score)), *(repr(float(v)) for v in polygon)]))
    paths = []
    for name, rows in lines.items():
        path = out_dir / f"{TASK1_PREFIX}{name}.txt"
        path.write_text("".join(f"{row}\n" for row in rows), encoding="utf-8")
        paths.append(path)
    if zip_path is not None:
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, arcname=path.name)
    return paths


def _class_files(directory: Path, classes: Sequence[str]) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(class, file) in class order for the Task1 files whose name gives a class on its text form (so
    `Task1_small_vehicle.txt` is small-vehicle's), and the Task1 files of no class."""
    by_text = {normalize_class(name): name for name in classes}
    found: dict[str, Path] = {}
    unknown = []
    for path in sorted(directory.glob(f"{TASK1_PREFIX}*.txt")):
        name = by_text.get(normalize_class(path.stem[len(TASK1_PREFIX) :]))
        if name is None:
            unknown.append(path)
        elif name in found:
            raise Task1FormatError(f"{found[name]} and {path}: two Task1 files for class {name!r}")
        else:
            found[name] = path
    return [(name, found[name]) for name in classes if name in found], unknown


def unknown_task1_files(directory: str | Path, classes: Sequence[str]) -> list[Path]:
    """The Task1 files of a folder whose name gives none of `classes` (`read_task1_dir` leaves them out)."""
    return _class_files(Path(directory), classes)[1]


def read_task1_dir(directory: str | Path, classes: Sequence[str] | None = None) -> list[ImageDet]:
    """Read `Task1_<class>.txt` files back into detections, keeping the order of the lines.

    One ImageDet per run of consecutive lines of one image in one file (so an image may appear several times), class
    files in the order of `classes` (else by name). With `classes`, file names are read on their text form
    (`Task1_small_vehicle.txt` holds small-vehicle), a missing file counts as no detection, and files of other
    classes are left out (`unknown_task1_files` lists them).
    """
    directory = Path(directory)
    if classes is None:
        files = [(path.stem[len(TASK1_PREFIX) :], path) for path in sorted(directory.glob(f"{TASK1_PREFIX}*.txt"))]
        if not files:
            raise ValueError(f"{directory}: no {TASK1_PREFIX}<class>.txt files")
    else:
        files = _class_files(directory, classes)[0]
    runs: list[tuple[str, str, list, list]] = []  # (class, image, polygons, scores)
    for label, path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            image_id, score, polygon = _parse_line(line, path, number)
            if not runs or runs[-1][:2] != (label, image_id):
                runs.append((label, image_id, [], []))
            runs[-1][2].append(polygon)
            runs[-1][3].append(score)
    return [ImageDet(image, np.array(p).reshape(-1, 8), [label] * len(s), np.array(s)) for label, image, p, s in runs]


def _parse_line(line: str, path: Path, number: int) -> tuple[str, float, list[float]]:
    tokens = line.split()
    if len(tokens) != 10:
        raise Task1FormatError(f"{path}:{number}: expected image, score and 8 coordinates, got {len(tokens)} fields")
    try:
        values = [float(t) for t in tokens[1:]]
    except ValueError:
        raise Task1FormatError(f"{path}:{number}: non-numeric score or coordinate") from None
    if not all(math.isfinite(v) for v in values):
        raise Task1FormatError(f"{path}:{number}: non-finite score or coordinate")
    return tokens[0], values[0], values[1:]
