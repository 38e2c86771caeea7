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

from rs_data.readers._common import (
    ImageIndex,
    Reader,
    ReadResult,
    clean_polygon,
    guarded,
    image_ref,
    load_json,
    object_or_skip,
    require_object,
    text_lines,
)
from rs_data.readers.xml_detection import XMLFieldError, number, parse_xml, text, voc_size
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


RSVGUnit = tuple[str, int | None, list[RSVGObject] | str]


def prepare_dior_rsvg(
    src: Path,
    split: str | None = None,
    split_file: str | Path | None = None,
    images: str | Path | None = None,
    check_images: bool = True,
    dataset: str = "dior-rsvg",
) -> tuple[GroundingContext, list[RSVGUnit]]:
    """All objects of `src/Annotations/*.xml`, restricted to `split` (`src/{split}.txt`) or `split_file`.

    Units are `(file, line, objects)`, or `(file, line, reason)` for what cannot be read: an XML file, an object, a
    line of the index file, or an index beyond the objects of the annotations.
    """
    xml_dir = src / "Annotations" if (src / "Annotations").is_dir() else src
    files = sorted(xml_dir.glob("*.xml"))
    if not files:
        raise FileNotFoundError(f"{xml_dir}: no XML annotation files")
    index_file = Path(split_file) if split_file else (src / f"{split}.txt" if split else None)
    units: list[RSVGUnit] = []
    wanted = _read_indices(index_file, units) if index_file else None
    counter = 0
    for xml_file in files:
        probe = ReadResult()
        root = parse_xml(xml_file, probe)
        if root is None:
            shifted = "; the object indices of the files after it may be shifted" if wanted is not None else ""
            units += [(s.file, s.line, s.reason + shifted) for s in probe.skipped]
            continue
        objects = []
        for obj in root.iter("object"):
            if wanted is None or counter in wanted:
                try:
                    hbb = tuple(number(obj, f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax"))
                    objects.append(RSVGObject(counter, text(obj, "description"), hbb))
                except XMLFieldError as error:
                    units.append((str(xml_file), None, f"object {counter}: {error}"))
            counter += 1
        if objects:
            units.append((str(xml_file), None, objects))
    for index, line in sorted((wanted or {}).items()):
        if index >= counter:
            units.append((str(index_file), line, f"object index {index}: the annotations hold {counter} objects"))
    image_dir = Path(images) if images else (src / "JPEGImages" if (src / "JPEGImages").is_dir() else src)
    return GroundingContext(dataset, ImageIndex(image_dir), check_images, split), units


def _read_indices(path: Path, units: list[RSVGUnit]) -> dict[int, int]:
    """The object indices an index file lists, with their lines; each line that is not one becomes a unit."""
    indices: dict[int, int] = {}
    for number_, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            index = int(line)
        except ValueError:
            units.append((str(path), number_, f"not an object index: {line[:40]!r}"))
            continue
        if index < 0:
            units.append((str(path), number_, f"object index {index} is negative"))
        else:
            indices.setdefault(index, number_)
    return indices


def read_dior_rsvg_unit(context: GroundingContext, unit: RSVGUnit) -> ReadResult:
    source, line, objects = unit
    result = ReadResult()
    if isinstance(objects, str):
        result.skipped.append(Skipped(source, line, objects))
        return result
    try:
        root = ET.parse(source).getroot()
        filename = text(root, "filename")
        annotated = voc_size(root)
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
    """The caption, grounding and VQA records of one image's file; a bad object or QA pair costs only itself."""
    result = ReadResult()
    source = str(json_file)
    try:
        data = require_object(load_json(json_file), "the file")
        name = data["image"]
        if not isinstance(name, str):
            raise TypeError(f"image is {name!r}, not a string")
    except (ValueError, KeyError, TypeError) as error:
        result.skipped.append(Skipped(source, None, f"unusable VRSBench file: {error}"))
        return result
    image = image_ref(context.images.find(name), source, None, result.skipped, name=name)
    if image is None:
        return result
    stem = Path(name).stem
    frame = ImageFrame(width=image.width, height=image.height, resized_width=image.width, resized_height=image.height)

    def caption(sentence: str) -> None:
        annotation = CaptionAnnotation(captions=[sentence])
        result.records.append(_record(context, f"{stem}_caption", "captioning", image, annotation))

    def referring(index: int, obj: dict) -> None:
        corners = obj.get("obj_corner")
        if not isinstance(corners, list) or len(corners) != 8 or not obj.get("referring_sentence"):
            result.skipped.append(Skipped(source, None, f"object {index}: needs 8 obj_corner values and a sentence"))
            return
        pixels = from_model(np.asarray(corners, dtype=np.float64).reshape(4, 2), frame, "relative1").reshape(-1)
        polygon = clean_polygon(pixels, image, source, None, f"object {index}", result.skipped)
        if polygon is not None:
            annotation = GroundingAnnotation(expression=obj["referring_sentence"], polygon=polygon)
            meta = {"is_unique": bool(obj.get("is_unique", True)), "category": obj.get("obj_cls")}
            result.records.append(
                _record(context, f"{stem}_obj{obj.get('obj_id')}", "grounding", image, annotation, **meta)
            )

    def question(index: int, qa: dict) -> None:
        if not qa.get("question") or "answer" not in qa:
            result.skipped.append(Skipped(source, None, f"QA pair {index}: needs question and answer"))
            return
        annotation = VQAAnnotation(question=qa["question"], answer=str(qa["answer"]), question_type=qa.get("type"))
        result.records.append(_record(context, f"{stem}_qa{qa.get('ques_id')}", "vqa", image, annotation))

    if data.get("caption"):
        guarded(result.skipped, source, None, "caption", caption, data["caption"])
    for key, what, read in (("objects", "object", referring), ("qa_pairs", "QA pair", question)):
        items = data.get(key, [])
        if not isinstance(items, list):
            result.skipped.append(Skipped(source, None, f"{key}: a JSON {type(items).__name__}, not a list"))
            continue
        for index, item in enumerate(items):
            where = f"{what} {index}"
            entry = object_or_skip(item, where, source, None, result.skipped)
            if entry is not None:
                guarded(result.skipped, source, None, where, read, index, entry)
    return result


DIOR_RSVG = Reader(
    "dior-rsvg", "DIOR-RSVG grounding XML with split index files", prepare_dior_rsvg, read_dior_rsvg_unit
)
VRSBENCH = Reader(
    "vrsbench", "VRSBench per-image JSON (caption, referring objects, QA)", prepare_vrsbench, read_vrsbench_unit
)
