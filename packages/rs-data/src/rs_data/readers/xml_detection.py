"""XML detection formats: DIOR-R (`robndbox` corners) / DIOR (`bndbox`), FAIR1M (5-point closed polygons), HRSC2016.

Each source is a directory searched recursively for `*.xml` (or `annotations=`), with images found by file name
under `images=` (default: the source directory). The annotated image size must match the real image. An object with
a missing or malformed field (no box, a coordinate that is not a number, an empty `<difficult/>`) is skipped alone and
reported as `object N` of its file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rs_resolution import hbb_to_poly, obb_to_poly

from rs_data.readers._common import ClassFilter, ImageIndex, Reader, ReadResult, image_ref
from rs_data.readers.detection_common import DetectionContext, detection_record
from rs_data.schema import Skipped

RawObject = tuple[str, list[float], bool, None]


class XMLFieldError(ValueError):
    """A required XML element is missing or not a number."""


def text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    if found is None or found.text is None:
        raise XMLFieldError(f"missing <{path}>")
    return found.text.strip()


def number(element: ET.Element, path: str) -> float:
    value = text(element, path)
    try:
        return float(value)
    except ValueError as error:
        raise XMLFieldError(f"<{path}> is not a number: {value!r}") from error


def size_value(element: ET.Element, path: str) -> int:
    """An image side: a positive whole number (`800` or `800.0`)."""
    value = number(element, path)
    if not (math.isfinite(value) and value > 0 and value == int(value)):
        raise XMLFieldError(f"<{path}> is not a positive whole number: {text(element, path)!r}")
    return int(value)


def parse_xml(path: Path, result: ReadResult) -> ET.Element | None:
    """The root element, or None with the parse error (and its line) reported."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as error:
        result.skipped.append(Skipped(str(path), error.position[0], f"malformed XML: {error}"))
        return None


def _difficult(obj: ET.Element) -> bool:
    """The `<difficult>` flag: absent means 0; present, it must be written."""
    return obj.find("difficult") is not None and text(obj, "difficult") == "1"


def _dior_object(obj: ET.Element) -> RawObject:
    corners = obj.find("robndbox")
    if corners is not None:
        polygon = [
            number(corners, f"{axis}_{corner}")
            for corner in ("left_top", "right_top", "right_bottom", "left_bottom")
            for axis in ("x", "y")
        ]
    else:
        box = obj.find("bndbox")
        if box is None:
            raise XMLFieldError("object has neither <robndbox> nor <bndbox>")
        hbb = np.array([number(box, k) for k in ("xmin", "ymin", "xmax", "ymax")])
        polygon = hbb_to_poly(hbb).tolist()
    return text(obj, "name"), polygon, _difficult(obj), None


def voc_size(root: ET.Element) -> tuple[int, int]:
    """`(width, height)` of a VOC-style `<size>`."""
    return size_value(root, "size/width"), size_value(root, "size/height")


def _fair1m_object(obj: ET.Element) -> RawObject:
    points = [p.text.strip() for p in obj.iter("point") if p.text]
    if len(points) == 5 and points[4] == points[0]:
        points = points[:4]
    if len(points) != 4:
        raise XMLFieldError(f"object has {len(points)} distinct <point>s, expected 4 (+ the closing repeat)")
    try:
        polygon = [float(v) for point in points for v in point.split(",")]
    except ValueError as error:
        raise XMLFieldError(f"bad <point> in {points}") from error
    return text(obj, "possibleresult/name"), polygon, False, None


def _hrsc_object(obj: ET.Element) -> RawObject:
    cx, cy, w, h = (number(obj, f"mbox_{k}") for k in ("cx", "cy", "w", "h"))
    angle = math.degrees(number(obj, "mbox_ang"))
    polygon = obb_to_poly(np.array([cx, cy, w, h, angle])).tolist()
    return "ship", polygon, _difficult(obj), None


def _hrsc_size(root: ET.Element) -> tuple[int, int]:
    return size_value(root, "Img_SizeWidth"), size_value(root, "Img_SizeHeight")


@dataclass(frozen=True)
class XMLFormat:
    """Where one XML dialect keeps the image name, the image size and the objects."""

    name: str
    image_name: Callable[[ET.Element], str]
    size: Callable[[ET.Element], tuple[int, int]]
    object_tag: str
    parse_object: Callable[[ET.Element], RawObject]
    default_classes: str

    def objects(self, root: ET.Element, source: str, skipped: list[Skipped]) -> tuple[list[RawObject], list[str]]:
        """Every object that parses, and its name `object N` (N its place among the file's objects); each one that
        does not is reported under that name and left out."""
        objects, names = [], []
        for index, obj in enumerate(root.iter(self.object_tag)):
            try:
                objects.append(self.parse_object(obj))
                names.append(f"object {index}")
            except XMLFieldError as error:
                skipped.append(Skipped(source, None, f"object {index}: {error}"))
        return objects, names

    def prepare(
        self,
        src: Path,
        images: str | Path | None = None,
        annotations: str | Path | None = None,
        classes: str | list[str] | None = None,
        check_images: bool = True,
        dataset: str | None = None,
        split: str | None = None,
    ) -> tuple[DetectionContext, list[Path]]:
        """XML files under `annotations` (default `src`), images under `images` (default `src`)."""
        xml_dir = Path(annotations) if annotations else src
        files = sorted(xml_dir.rglob("*.xml"))
        if not files:
            raise FileNotFoundError(f"{xml_dir}: no XML annotation files")
        context = DetectionContext(
            dataset or self.name,
            ImageIndex(Path(images) if images else src),
            ClassFilter(classes or self.default_classes),
            check_images,
            split,
        )
        return context, files

    def read_unit(self, context: DetectionContext, xml_file: Path) -> ReadResult:
        result = ReadResult()
        source = str(xml_file)
        root = parse_xml(xml_file, result)
        if root is None:
            return result
        try:
            filename = self.image_name(root)
            annotated = self.size(root)
        except XMLFieldError as error:
            result.skipped.append(Skipped(source, None, str(error)))
            return result
        found = context.images.find(filename) or context.images.find(xml_file.stem)
        expected = context.images.expected(filename)
        image = image_ref(found, source, None, result.skipped, annotated, context.check_images, filename, expected)
        if image is not None:
            raw, names = self.objects(root, source, result.skipped)
            detection_record(context, Path(filename).stem, image, raw, source, result, names=names)
        return result

    def reader(self, description: str) -> Reader:
        return Reader(self.name, description, self.prepare, self.read_unit)


def _voc_filename(root: ET.Element) -> str:
    return text(root, "filename")


def _fair1m_filename(root: ET.Element) -> str:
    return text(root, "source/filename")


def _hrsc_filename(root: ET.Element) -> str:
    return f"{text(root, 'Img_FileName')}.{text(root, 'Img_FileFmt')}"


DIOR_R = XMLFormat("dior-r", _voc_filename, voc_size, "object", _dior_object, "dior-r").reader(
    "DIOR-R oriented boxes (robndbox corners) or DIOR horizontal boxes (bndbox), VOC-style XML"
)
DIOR = XMLFormat("dior", _voc_filename, voc_size, "object", _dior_object, "dior-r").reader(
    "DIOR horizontal boxes (bndbox) or DIOR-R corners, VOC-style XML"
)
FAIR1M = XMLFormat("fair1m", _fair1m_filename, voc_size, "object", _fair1m_object, "fair1m").reader(
    "FAIR1M XML (5-point closed polygons, fine-grained classes)"
)
HRSC2016 = XMLFormat("hrsc2016", _hrsc_filename, _hrsc_size, "HRSC_Object", _hrsc_object, "hrsc").reader(
    "HRSC2016 XML (rotated ship boxes, angle in radians)"
)
