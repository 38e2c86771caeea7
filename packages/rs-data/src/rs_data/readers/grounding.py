"""Visual grounding sources: DIOR-RSVG XML with its split index files, and VRSBench per-image JSON.

DIOR-RSVG: `Annotations/*.xml` (VOC objects with a `<description>`), `JPEGImages/`, and `train.txt` / `val.txt` /
`test.txt` listing indices into the sequence of all objects of the XML files in sorted order.
VRSBench: one JSON per image with a caption, objects (`obj_corner`: 8 floats in 0-1 of the image size) and QA pairs;
it yields captioning, grounding and VQA records.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rs_resolution import ImageFrame, from_model, hbb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, clean_polygon, image_ref, load_json
from rs_data.readers.xml_detection import XMLFieldError, number, parse_xml, text
from rs_data.schema import (
    CaptionAnnotation,
    GroundingAnnotation,
    ImageRef,
    Record,
    Skipped,
    VQAAnnotation,
)


@dataclass(frozen=True)
class RSVGObject:
    index: int
    expression: str
    hbb: tuple[float, float, float, float]


@dataclass(frozen=True)
class GroundingContext:
    dataset: str
    images: ImageIndex
    check_images: bool
    split: str | None


def prepare_dior_rsvg(
    src: Path,
    split: str | None = None,
    split_file: str | Path | None = None,
    images: str | Path | None = None,
    check_images: bool = True,
    dataset: str = "dior-rsvg",
) -> tuple[GroundingContext, list[tuple[Path, list[RSVGObject] | str]]]:
    """All objects of `src/Annotations/*.xml`, restricted to `split` (`src/{split}.txt`) or `split_file`."""
    xml_dir = src / "Annotations" if (src / "Annotations").is_dir() else src
    files = sorted(xml_dir.glob("*.xml"))
    if not files:
        raise FileNotFoundError(f"{xml_dir}: no XML annotation files")
    index_file = Path(split_file) if split_file else (src / f"{split}.txt" if split else None)
    wanted = _read_indices(index_file) if index_file else None
    units: list[tuple[Path, list[RSVGObject] | str]] = []
    counter = 0
    for xml_file in files:
        probe = ReadResult()
        root = parse_xml(xml_file, probe)
        if root is None:
            units.append((xml_file, str(probe.skipped[0].reason)))
            continue
        objects = []
        for obj in root.iter("object"):
            if wanted is None or counter in wanted:
                try:
                    hbb = tuple(number(obj, f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax"))
                    objects.append(RSVGObject(counter, text(obj, "description"), hbb))
                except XMLFieldError as error:
                    units.append((xml_file, f"object {counter}: {error}"))
            counter += 1
        if objects:
            units.append((xml_file, objects))
    image_dir = Path(images) if images else (src / "JPEGImages" if (src / "JPEGImages").is_dir() else src)
    return GroundingContext(dataset, ImageIndex(image_dir), check_images, split), units


def _read_indices(path: Path) -> set[int]:
    indices = set()
    for number_, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip():
            try:
                indices.add(int(line))
            except ValueError as error:
                raise ValueError(f"{path}:{number_}: not an object index: {line!r}") from error
    return indices


def read_dior_rsvg_unit(context: GroundingContext, unit: tuple[Path, list[RSVGObject] | str]) -> ReadResult:
    xml_file, objects = unit
    result = ReadResult()
    source = str(xml_file)
    if isinstance(objects, str):
        result.skipped.append(Skipped(source, None, objects))
        return result
    try:
        root = ET.parse(xml_file).getroot()
        filename = text(root, "filename")
        annotated = (int(number(root, "size/width")), int(number(root, "size/height")))
    except XMLFieldError as error:
        result.skipped.append(Skipped(source, None, str(error)))
        return result
    found, expected = context.images.find(filename), context.images.expected(filename)
    image = image_ref(found, source, None, result.skipped, annotated, context.check_images, filename, expected)
    if image is None:
        return result
    for obj in objects:
        polygon = clean_polygon(
            hbb_to_poly(np.array(obj.hbb)), image, source, None, f"object {obj.index}", result.skipped
        )
        if polygon is None:
            continue
        annotation = GroundingAnnotation(expression=obj.expression, polygon=polygon)
        result.records.append(_record(context, f"{Path(filename).stem}_{obj.index}", "grounding", image, annotation))
    return result


def _record(context: GroundingContext, record_id: str, task, image: ImageRef, annotation, **meta) -> Record:
    return Record(
        id=record_id,
        dataset=context.dataset,
        task=task,
        images=[image],
        annotation=annotation,
        split=context.split,
        meta=meta,
    )


def prepare_vrsbench(
    src: Path,
    images: str | Path | None = None,
    dataset: str = "vrsbench",
    split: str | None = None,
) -> tuple[GroundingContext, list[Path]]:
    """`src` is the directory of per-image JSON files; images under `images` (default `src/Images` or `src`)."""
    files = sorted(src.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{src}: no VRSBench JSON files")
    image_dir = Path(images) if images else (src / "Images" if (src / "Images").is_dir() else src)
    return GroundingContext(dataset, ImageIndex(image_dir), True, split), files


def read_vrsbench_unit(context: GroundingContext, json_file: Path) -> ReadResult:
    result = ReadResult()
    source = str(json_file)
    try:
        data = load_json(json_file)
        name = data["image"]
    except (ValueError, KeyError, TypeError) as error:
        result.skipped.append(Skipped(source, None, f"unusable VRSBench file: {error}"))
        return result
    image = image_ref(context.images.find(name), source, None, result.skipped, name=name)
    if image is None:
        return result
    stem = Path(name).stem
    if data.get("caption"):
        caption = CaptionAnnotation(captions=[data["caption"]])
        result.records.append(_record(context, f"{stem}_caption", "captioning", image, caption))
    frame = ImageFrame(width=image.width, height=image.height, resized_width=image.width, resized_height=image.height)
    for obj in data.get("objects", []):
        where = f"object {obj.get('obj_id')!r}"
        corners = obj.get("obj_corner")
        if not isinstance(corners, list) or len(corners) != 8 or not obj.get("referring_sentence"):
            result.skipped.append(Skipped(source, None, f"{where}: needs 8 obj_corner values and a referring_sentence"))
            continue
        pixels = from_model(np.asarray(corners, dtype=np.float64).reshape(4, 2), frame, "relative1").reshape(-1)
        polygon = clean_polygon(pixels, image, source, None, where, result.skipped)
        if polygon is None:
            continue
        annotation = GroundingAnnotation(expression=obj["referring_sentence"], polygon=polygon)
        result.records.append(
            _record(
                context,
                f"{stem}_obj{obj.get('obj_id')}",
                "grounding",
                image,
                annotation,
                is_unique=bool(obj.get("is_unique", True)),
                category=obj.get("obj_cls"),
            )
        )
    for qa in data.get("qa_pairs", []):
        if not qa.get("question") or "answer" not in qa:
            result.skipped.append(Skipped(source, None, f"QA pair {qa.get('ques_id')!r}: needs question and answer"))
            continue
        annotation = VQAAnnotation(question=qa["question"], answer=str(qa["answer"]), question_type=qa.get("type"))
        result.records.append(_record(context, f"{stem}_qa{qa.get('ques_id')}", "vqa", image, annotation))
    return result


DIOR_RSVG = Reader(
    "dior-rsvg", "DIOR-RSVG grounding XML with split index files", prepare_dior_rsvg, read_dior_rsvg_unit
)
VRSBENCH = Reader(
    "vrsbench", "VRSBench per-image JSON (caption, referring objects, QA)", prepare_vrsbench, read_vrsbench_unit
)
