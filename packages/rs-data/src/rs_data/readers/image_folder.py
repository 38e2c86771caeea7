"""A folder of test images without labels (e.g. DOTA test patches): one detection record per image, no objects.

Predictions on such records are exported (a Task1 submission), not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import IMAGE_EXTENSIONS, ClassFilter, Reader, ReadResult, image_ref
from rs_data.schema import DetectionAnnotation, Record, Skipped


@dataclass(frozen=True)
class ImageFolderContext:
    dataset: str
    root: Path
    classes: list[str]


def prepare(
    src: Path, classes: str | list[str] = "dota1.0", dataset: str = "dota"
) -> tuple[ImageFolderContext, list[tuple[Path, Path | None]]]:
    """Every image under `src` (recursively, sorted) with the earlier image of the same stem, if any: record ids are
    file stems (DOTA ids and patch names), so a second image of a stem is reported, not read."""
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not an image folder")
    images = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    first: dict[str, Path] = {}
    units: list[tuple[Path, Path | None]] = []
    for path in images:
        units.append((path, first.get(path.stem)))
        first.setdefault(path.stem, path)
    return ImageFolderContext(dataset, src, ClassFilter(classes).class_list([])), units


def read_unit(context: ImageFolderContext, unit: tuple[Path, Path | None]) -> ReadResult:
    path, earlier = unit
    result = ReadResult()
    if earlier is not None:
        result.skipped.append(Skipped(str(path), None, f"same name as {earlier}: record ids are file stems"))
        return result
    image = image_ref(path, str(path), None, result.skipped)
    if image is not None:
        result.records.append(
            Record(
                id=path.stem,
                dataset=context.dataset,
                task="detection",
                images=[image],
                annotation=DetectionAnnotation(objects=[], classes=context.classes),
            )
        )
    return result


READER = Reader("image-folder", "test images without labels: detection records with no objects", prepare, read_unit)
