"""A folder of test images without labels (e.g. DOTA test patches): one detection record per image, no objects.

Predictions on such records are exported (a Task1 submission), not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import IMAGE_EXTENSIONS, ClassFilter, Reader, ReadResult, image_ref, relative_to
from rs_data.schema import DetectionAnnotation, Record


@dataclass(frozen=True)
class ImageFolderContext:
    dataset: str
    root: Path
    classes: list[str]


def prepare(src: Path, classes: str | list[str] = "dota1.0", dataset: str = "dota") -> tuple[ImageFolderContext, list]:
    """Every image under `src` (recursively, sorted); `classes` is the class set the records are asked about."""
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not an image folder")
    images = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    return ImageFolderContext(dataset, src, ClassFilter(classes).class_list([])), images


def read_unit(context: ImageFolderContext, path: Path) -> ReadResult:
    result = ReadResult()
    image = image_ref(path, str(path), None, result.skipped)
    if image is not None:
        result.records.append(
            Record(
                id=Path(relative_to(path, context.root)).with_suffix("").as_posix(),
                dataset=context.dataset,
                task="detection",
                images=[image],
                annotation=DetectionAnnotation(objects=[], classes=context.classes),
            )
        )
    return result


READER = Reader("image-folder", "test images without labels: detection records with no objects", prepare, read_unit)
