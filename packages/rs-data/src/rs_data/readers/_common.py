"""What every reader shares: the result type, the image index, per-object geometry checks, and robustness: JSON and
JSONL read alike with or without a UTF-8 byte-order mark, and every unit read under a guard that turns a malformed
entry (a value of the wrong type, a missing field, a number out of range) into a counted skip with file, line and
reason instead of a crash."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rs_detect_eval import load_classes, normalize_class
from rs_resolution import ImageReadError, InvalidGeometryError, check_poly, read_image_size

from rs_data.parallel import parallel_map
from rs_data.schema import ImageRef, Record, Skipped

T = TypeVar("T")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
#: What reading one malformed entry can raise; `Reader.read` reports these as skips of that entry.
MALFORMED_ENTRY_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)


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

    def units(self, src: str | Path, **options: Any) -> tuple[Any, list[Any]]:
        """The context and the units of `src` (`prepare`, with unknown options refused by name)."""
        accepted = [p for p in inspect.signature(self.prepare).parameters if p != "src"]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {unknown}; accepted: {accepted}")
        return self.prepare(Path(src), **options)

    def read(self, src: str | Path, workers: int = 1, progress: bool = False, **options: Any) -> ReadResult:
        """Read every unit of `src` (in `workers` processes when > 1), with a progress bar when asked."""
        context, units = self.units(src, **options)
        return self.read_units(context, units, workers, progress)

    def read_units(self, context: Any, units: list[Any], workers: int = 1, progress: bool = False) -> ReadResult:
        """Read the units `units` gave (in `workers` processes when > 1)."""
        result = ReadResult()
        for part in parallel_map(
            read_unit_guarded,
            units,
            self.read_unit,
            context,
            workers=workers,
            desc=f"reading {self.name}",
            progress=progress,
        ):
            result.extend(part)
        return result

    __call__ = read


def unit_location(context: Any, unit: Any) -> tuple[str, int | None, str]:
    """(file, line, what) of a unit, by the readers' conventions: a file path; `(line, value)` for JSONL sources;
    `(index, value)` for entries of a JSON list."""
    if isinstance(unit, Path):
        return str(unit), None, "file"
    source = str(getattr(context, "source", ""))
    index = unit[0] if isinstance(unit, tuple) and unit and isinstance(unit[0], int) else None
    if source.endswith(".jsonl"):
        return source, index, "row"
    return source, None, "entry" if index is None else f"entry {index}"


def read_unit_guarded(read_unit: Callable[[Any, Any], ReadResult], context: Any, unit: Any) -> ReadResult:
    """`read_unit(context, unit)`, with a malformed entry reported as a skip (file, line, reason) instead of raised."""
    try:
        return read_unit(context, unit)
    except MALFORMED_ENTRY_ERRORS as error:
        source, line, what = unit_location(context, unit)
        return ReadResult(skipped=[Skipped(source, line, malformed(what, error))])


def malformed(what: str, error: Exception) -> str:
    """The reason given for a part of a source that could not be read."""
    return f"{what}: malformed ({type(error).__name__}: {_short(error)})"


def guarded(
    skipped: list[Skipped], source: str, line: int | None, what: str, function: Callable[..., T], *args: Any
) -> T | None:
    """`function(*args)`, or None with the part `what` of `source` reported as malformed when it raises."""
    try:
        return function(*args)
    except MALFORMED_ENTRY_ERRORS as error:
        skipped.append(Skipped(source, line, malformed(what, error)))
        return None


def _short(error: Exception, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class BadLine:
    """A JSONL line that is not JSON, kept in place of its value so the reader can report it."""

    reason: str


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """`(line number, value)` of every non-blank line (a leading byte-order mark ignored); a line that is not JSON
    gives a `BadLine`."""
    rows = []
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                rows.append((number, BadLine(f"invalid JSON: {error.msg} (column {error.colno})")))
    return rows


def text_lines(path: Path) -> list[str]:
    """The lines of a text file (a leading byte-order mark ignored); bytes that are not UTF-8 read as U+FFFD, so
    they cost only their line."""
    return path.read_bytes().decode("utf-8-sig", errors="replace").splitlines()


def require_object(value: Any, what: str = "row") -> dict:
    """`value` when it is a JSON object; otherwise a ValueError saying what it is."""
    if isinstance(value, BadLine):
        raise ValueError(value.reason)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is a JSON {type(value).__name__}, not an object")
    return value


def object_or_skip(value: Any, what: str, source: str, line: int | None, skipped: list[Skipped]) -> dict | None:
    """`value` when it is a JSON object; otherwise None, with the reason reported in `skipped`."""
    try:
        return require_object(value, what)
    except ValueError as error:
        skipped.append(Skipped(source, line, str(error)))
        return None


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
        try:
            if direct.is_file():
                return direct
        except OSError:  # a name the file system cannot hold (too long): not there
            pass
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


def checked_polygons(polygons: list[Any]) -> np.ndarray | None:
    """All polygons (N, 8) validated, bow-ties repaired, in one vectorised pass; None when any is unusable (each is
    then checked alone by `clean_polygon`, which names the problem)."""
    try:
        array = np.asarray(polygons, dtype=np.float64)
        return check_poly(array, repair=True) if polygons and array.shape == (len(polygons), 8) else None
    except (InvalidGeometryError, ValueError, TypeError):
        return None


def clean_polygon(
    polygon: Iterable[float],
    image: ImageRef,
    source: str,
    line: int | None,
    what: str,
    skipped: list[Skipped],
    checked: np.ndarray | None = None,
) -> list[float] | None:
    """Validate one polygon (repairing vertex order of a bow-tie; `checked` when `checked_polygons` did); report and
    return None if unusable.

    A polygon lying wholly outside its image is dropped; one overlapping the border is kept as annotated.
    """
    try:
        array = check_poly(np.asarray(list(polygon), dtype=np.float64), repair=True) if checked is None else checked
    except (InvalidGeometryError, ValueError, TypeError) as error:
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

    def match(self, label: str, source: str, line: int | None, what: str, skipped: list[Skipped]) -> str | None:
        """The canonical class name for `label` of the object `what`, or None (reported) when it is not in the list."""
        if self.classes is None:
            return label
        canonical = self._known.get(normalize_class(label))
        if canonical is None:
            skipped.append(Skipped(source, line, f"{what}: unknown class {label!r}"))
        return canonical

    def class_list(self, seen: Iterable[str]) -> list[str]:
        """The configured classes, or (when none were given) the sorted labels that were seen."""
        return list(self.classes) if self.classes is not None else sorted(set(seen))


def _class_list(classes: str | list[str]) -> list[str]:
    return list(classes) if isinstance(classes, list | tuple) else load_classes(classes)


def load_json(path: Path) -> Any:
    """Parse a JSON file (a leading byte-order mark ignored); a syntax error names the file, line and column."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error


def relative_to(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it, as a POSIX string (used in record ids)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
