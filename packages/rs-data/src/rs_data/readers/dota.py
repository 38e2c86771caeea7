"""DOTA labelTxt (v1.0 / v1.5 / v2.0): `images/NAME.png` beside `labelTxt/NAME.txt`."""

from __future__ import annotations

from pathlib import Path

from rs_detect_eval import DotaLabelError, read_dota_label

from rs_data.readers._common import ClassFilter, ImageIndex, Reader, ReadResult, image_ref
from rs_data.readers.detection_common import DetectionContext, detection_record
from rs_data.schema import Skipped


def prepare(
    src: Path,
    images: str | Path | None = None,
    labels: str | Path | None = None,
    classes: str | list[str] | None = "dota1.0",
    check_images: bool = True,
    dataset: str = "dota",
    split: str | None = None,
) -> tuple[DetectionContext, list[Path]]:
    """`src` holds `images/` and `labelTxt/` (or pass their paths); `classes` is a class-set name or list."""
    label_dir = Path(labels) if labels else src / "labelTxt"
    if not label_dir.is_dir():
        raise FileNotFoundError(f"{label_dir}: no labelTxt directory")
    image_dir = Path(images) if images else src / "images"
    context = DetectionContext(dataset, ImageIndex(image_dir), ClassFilter(classes), check_images, split)
    return context, sorted(label_dir.glob("*.txt"))


def read_unit(context: DetectionContext, label_file: Path) -> ReadResult:
    result = ReadResult()
    source = str(label_file)
    try:
        gt = read_dota_label(label_file)
    except DotaLabelError as error:
        result.skipped.append(Skipped(source, error.line, error.reason))
        return result
    except (OSError, UnicodeDecodeError) as error:
        result.skipped.append(Skipped(source, None, f"unreadable label file: {error}"))
        return result
    image = image_ref(context.images.find(label_file.stem), source, None, result.skipped, name=label_file.stem)
    if image is None:
        return result
    objects = (
        (label, polygon, difficult, None)
        for label, polygon, difficult in zip(gt.labels, gt.polygons, gt.difficult, strict=True)
    )
    detection_record(context, label_file.stem, image, objects, source, result)
    return result


READER = Reader("dota", "DOTA labelTxt detection (oriented quadrilaterals, difficult flag)", prepare, read_unit)
