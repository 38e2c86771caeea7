"""Scene classification as a folder per class (AID, UC Merced, NWPU-RESISC45, WHU-RS19, ...).

Classes are the sorted sub-folder names. An optional split file lists one image a line as a path relative to the
source (`airport/airport_1.jpg`) or a bare file name; only those images are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import IMAGE_EXTENSIONS, Reader, ReadResult, image_ref, relative_to, text_lines
from rs_data.schema import ClassificationAnnotation, Record, Skipped


@dataclass(frozen=True)
class ClassificationContext:
    dataset: str
    root: Path
    classes: list[str]
    split: str | None


def prepare(
    src: Path, split_file: str | Path | None = None, split: str | None = None, dataset: str | None = None
) -> tuple[ClassificationContext, list[tuple[Path, int | None] | tuple[str, int]]]:
    classes = sorted(p.name for p in src.iterdir() if p.is_dir())
    if not classes:
        raise FileNotFoundError(f"{src}: no class folders")
    all_images = sorted(
        p for c in classes for p in (src / c).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    units: list = [(p, None) for p in all_images]
    if split_file is not None:
        by_relative = {relative_to(p, src): p for p in all_images}
        by_name = {p.name: p for p in all_images}
        units = []
        for number, line in enumerate(text_lines(Path(split_file)), start=1):
            if not line.strip():
                continue
            entry = line.split()[0]
            path = by_relative.get(entry) or by_name.get(Path(entry).name)
            units.append((path, number) if path is not None else (f"{split_file}", number, entry))
    context = ClassificationContext(dataset or src.name, src, classes, split)
    return context, units


def read_unit(context: ClassificationContext, unit: tuple) -> ReadResult:
    result = ReadResult()
    if len(unit) == 3:
        split_file, line, entry = unit
        result.skipped.append(Skipped(split_file, line, f"image {entry!r} not found under {context.root}"))
        return result
    path, _line = unit
    image = image_ref(path, str(path), None, result.skipped)
    if image is not None:
        label = relative_to(path, context.root).split("/")[0]
        result.records.append(
            Record(
                id=Path(relative_to(path, context.root)).with_suffix("").as_posix(),
                dataset=context.dataset,
                task="classification",
                images=[image],
                annotation=ClassificationAnnotation(label=label, classes=context.classes),
                split=context.split,
            )
        )
    return result


READER = Reader("classification", "scene classification, one folder per class, optional split file", prepare, read_unit)
