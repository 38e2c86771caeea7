"""What every reader shares: the result type, the image index and per-object geometry checks."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rs_detect_eval import load_classes, normalize_class
from rs_resolution import ImageReadError, InvalidGeometryError, check_poly, read_image_size

from rs_data.parallel import parallel_map
from rs_data.schema import ImageRef, Record, Skipped

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass
class ReadResult:
    """Records read from a source, and everything that was left out with the reason."""

    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        self.records.extend(other.records)
        self.skipped.extend(other.skipped)


@dataclass(frozen=True)
class Reader:
    """A public format: `prepare` splits a source into independent units, `read_unit` turns one into records.

    Calling the reader (or `.read`) reads a whole source, over several processes when `workers > 1`.
    """

    name: str
    description: str
    prepare: Callable[..., tuple[Any, list[Any]]]
    read_unit: Callable[[Any, Any], ReadResult]

    def read(self, src: str | Path, workers: int = 1, progress: bool = False, **options: Any) -> ReadResult:
        """Read every unit of `src` (in `workers` processes when > 1), with a progress bar when asked."""
        accepted = [p for p in inspect.signature(self.prepare).parameters if p != "src"]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {unknown}; accepted: {accepted}")
        context, units = self.prepare(Path(src), **options)
        result = ReadResult()
        for part in parallel_map(
            self.read_unit, units, context, workers=workers, desc=f"reading {self.name}", progress=progress
        ):
            result.extend(part)
        return result

    __call__ = read


class ImageIndex:
    """Finds image files under a root by file name or by stem (any image extension), read once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.by_name: dict[str, Path] = {}
        self.by_stem: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.lower().endswith(IMAGE_EXTENSIONS):
                    path = Path(dirpath) / name
                    self.by_name.setdefault(name, path)
                    self.by_stem.setdefault(Path(name).stem, path)

    def expected(self, name: str) -> str:
        """Where an image that is not there would be (kept for records accepted without their image)."""
        return str(self.root / name)

    def find(self, name: str) -> Path | None:
        """The image called `name` (a file name, a relative path, or a stem without extension)."""
        direct = self.root / name
        if direct.is_file():
            return direct
        return self.by_name.get(Path(name).name) or self.by_stem.get(Path(name).stem)


def image_ref(
    path: Path | None,
    source: str,
    line: int | None,
    skipped: list[Skipped],
    annotated_size: tuple[int, int] | None = None,
    check_images: bool = True,
    name: str = "",
    expected: str | None = None,
) -> ImageRef | None:
    """Describe an image by its real size; report and return None when it is missing, corrupt or mismatched.

    With `check_images=False` a missing image is accepted when the annotation states its size (width, height); its
    path is then `expected` (where it should be).
    """
    if path is None or not path.is_file():
        shown = str(path) if path is not None else name
        if not check_images and annotated_size is not None:
            return ImageRef(path=expected or shown, width=annotated_size[0], height=annotated_size[1])
        skipped.append(Skipped(source, line, f"image not found: {shown}"))
        return None
    try:
        width, height = read_image_size(path)
    except (ImageReadError, OSError, ValueError) as error:
        skipped.append(Skipped(source, line, f"unreadable image {path}: {error}"))
        return None
    if annotated_size is not None and tuple(annotated_size) != (width, height):
        skipped.append(
            Skipped(source, line, f"annotated size {annotated_size[0]}x{annotated_size[1]} != image {width}x{height}")
        )
        return None
    return ImageRef(path=str(path), width=width, height=height)


def clean_polygon(
    polygon: Iterable[float], image: ImageRef, source: str, line: int | None, what: str, skipped: list[Skipped]
) -> list[float] | None:
    """Validate one polygon (repairing vertex order of a bow-tie); report and return None if unusable.

    A polygon lying wholly outside its image is dropped; one overlapping the border is kept as annotated.
    """
    array = np.asarray(list(polygon), dtype=np.float64)
    try:
        array = check_poly(array, repair=True)
    except InvalidGeometryError as error:
        skipped.append(Skipped(source, line, f"{what}: invalid polygon ({error})"))
        return None
    xs, ys = array[0::2], array[1::2]
    if xs.max() <= 0 or ys.max() <= 0 or xs.min() >= image.width or ys.min() >= image.height:
        skipped.append(Skipped(source, line, f"{what}: polygon lies outside the {image.width}x{image.height} image"))
        return None
    return [float(v) for v in array]


class ClassFilter:
    """Maps raw class names onto a known class list (compared in normalised form) and reports unknown ones."""

    def __init__(self, classes: str | list[str] | None) -> None:
        self.classes: list[str] | None = None if classes is None else _class_list(classes)
        self._known = {normalize_class(c): c for c in self.classes or []}

    def match(self, label: str, source: str, line: int | None, skipped: list[Skipped]) -> str | None:
        """The canonical class name for `label`, or None (reported) when it is not in the list."""
        if self.classes is None:
            return label
        canonical = self._known.get(normalize_class(label))
        if canonical is None:
            skipped.append(Skipped(source, line, f"unknown class {label!r}"))
        return canonical

    def class_list(self, seen: Iterable[str]) -> list[str]:
        """The configured classes, or (when none were given) the sorted labels that were seen."""
        return list(self.classes) if self.classes is not None else sorted(set(seen))


def _class_list(classes: str | list[str]) -> list[str]:
    return list(classes) if isinstance(classes, list | tuple) else load_classes(classes)


def load_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error


def relative_to(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it, as a POSIX string (used in record ids)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
