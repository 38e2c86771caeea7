"""The record schema every package speaks: one JSONL line = one `Record`.

A record names its images (path and original size) and carries either ready `messages` (instruction data) or an
`annotation` that a task template renders online once the image's final size is known. Geometry is always stored in
original-image pixels; polygons are 8 floats `x1, y1, ..., x4, y4`.

Relative image paths in a records file are relative to the directory holding that file (`write_records` stores them so,
whoever calls it); `read_records` resolves them.

Ready messages may carry boxes as `<poly>x1,y1,...,x4,y4</poly>` in original pixels of the record's first image;
rendering rewrites each into the model's box text for the size the model sees.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from rs_data.integrity import verify_records_file

Task = Literal["classification", "captioning", "vqa", "grounding", "detection", "uhr_vqa", "instruction"]
TASKS: tuple[str, ...] = Task.__args__


POLY_TAG = re.compile(r"<poly>([^<]*)</poly>")


def poly_tag(polygon: list[float]) -> str:
    """The in-text marker of a polygon in original pixels (see the module docstring)."""
    return "<poly>" + ",".join(f"{v:g}" for v in polygon) + "</poly>"


def _check_polygon(values: list[float]) -> list[float]:
    if len(values) != 8:
        raise ValueError(f"a polygon has 8 numbers (x1, y1, ..., x4, y4), got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"polygon has a non-finite coordinate: {values}")
    return values


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageRef(_Model):
    """An image file and its original size in pixels; or, with `window` (``x0, y0, x1, y1`` in the file's pixels,
    end exclusive), that window of the file, whose size `width` and `height` then are. A reference without a
    window is written without the `window` key."""

    path: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    window: tuple[int, int, int, int] | None = None

    @model_validator(mode="after")
    def _window_size(self) -> ImageRef:
        if self.window is not None:
            x0, y0, x1, y1 = self.window
            if x0 < 0 or y0 < 0 or x1 <= x0 or y1 <= y0:
                raise ValueError(f"window {list(self.window)} needs 0 <= x0 < x1 and 0 <= y0 < y1")
            if (x1 - x0, y1 - y0) != (self.width, self.height):
                raise ValueError(f"window {list(self.window)} is not {self.width}x{self.height} (width x height)")
        return self

    @model_serializer(mode="wrap")
    def _window_when_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.window is None:
            data.pop("window", None)
        return data


class TextPart(_Model):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Model):
    """A reference to `Record.images[image]`."""

    type: Literal["image"] = "image"
    image: int = Field(ge=0)


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(_Model):
    role: Literal["system", "user", "assistant"]
    content: list[Part]


class ObjectAnn(_Model):
    """One object: class label, polygon in original pixels, DOTA-style difficult flag."""

    label: str
    polygon: list[float]
    difficult: bool = False

    _polygon = field_validator("polygon")(_check_polygon)


class DetectionAnnotation(_Model):
    kind: Literal["detection"] = "detection"
    objects: list[ObjectAnn]
    classes: list[str]


GroundingTarget = Literal["hbb", "obb", "poly", "seg"]


class GroundingAnnotation(_Model):
    """A referring expression and its object: `polygon` in original pixels and, for segmentation, `mask` (the outer
    contours of the object's mask, each `x1, y1, x2, y2, ...` in original pixels).

    `target` fixes what the answer is (a box type, or `seg` for the mask); without it rendering draws a box type."""

    kind: Literal["grounding"] = "grounding"
    expression: str
    polygon: list[float]
    target: GroundingTarget | None = None
    mask: list[list[float]] | None = None

    _polygon = field_validator("polygon")(_check_polygon)

    @field_validator("mask")
    @classmethod
    def _contours(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        for contour in value or []:
            if not contour or len(contour) % 2 or not all(math.isfinite(v) for v in contour):
                raise ValueError("a mask contour is a non-empty, even-length list of finite x, y values")
        return value

    @model_validator(mode="after")
    def _mask_for_seg(self) -> GroundingAnnotation:
        if self.target == "seg" and not self.mask:
            raise ValueError("a `seg` target needs a non-empty mask")
        return self


class CaptionAnnotation(_Model):
    kind: Literal["caption"] = "caption"
    captions: list[str] = Field(min_length=1)


class VQAAnnotation(_Model):
    kind: Literal["vqa"] = "vqa"
    question: str
    answer: str
    question_type: str | None = None
    choices: list[str] | None = None
    evidence: list[list[float]] = Field(default_factory=list)

    @field_validator("evidence")
    @classmethod
    def _evidence_polygons(cls, value: list[list[float]]) -> list[list[float]]:
        return [_check_polygon(p) for p in value]


class ClassificationAnnotation(_Model):
    kind: Literal["classification"] = "classification"
    label: str
    classes: list[str]

    @model_validator(mode="after")
    def _label_in_classes(self) -> ClassificationAnnotation:
        if self.classes and self.label not in self.classes:
            raise ValueError(f"label {self.label!r} is not one of the classes")
        return self


Annotation = Annotated[
    DetectionAnnotation | GroundingAnnotation | CaptionAnnotation | VQAAnnotation | ClassificationAnnotation,
    Field(discriminator="kind"),
]

_TASK_KINDS: dict[str, str] = {
    "classification": "classification",
    "captioning": "caption",
    "vqa": "vqa",
    "uhr_vqa": "vqa",
    "grounding": "grounding",
    "detection": "detection",
}


class Record(_Model):
    """One training or evaluation sample; exactly one of `messages` / `annotation` is set."""

    id: str
    dataset: str
    task: Task
    images: list[ImageRef]
    messages: list[Message] | None = None
    annotation: Annotation | None = None
    split: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        if (self.messages is None) == (self.annotation is None):
            raise ValueError("a record has exactly one of `messages` and `annotation`")
        if self.annotation is not None:
            expected = _TASK_KINDS.get(self.task)
            if expected != self.annotation.kind:
                raise ValueError(f"task {self.task!r} cannot carry a {self.annotation.kind!r} annotation")
            if not self.images:
                raise ValueError("an annotated record needs at least one image")
        for message in self.messages or []:
            for part in message.content:
                if isinstance(part, ImagePart) and part.image >= len(self.images):
                    raise ValueError(f"message refers to image {part.image} but the record has {len(self.images)}")
        return self


@dataclass(frozen=True)
class Skipped:
    """A record that was not produced, with where and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class RecordFileError(ValueError):
    """A records file has a line that is not a valid record."""


def resolve_image_paths(record: Record, base: Path) -> Record:
    """Make the record's relative image paths absolute against `base`, the folder of the records file holding it."""
    for image in record.images:
        if not Path(image.path).is_absolute():
            image.path = str(base / image.path)
    return record


def read_records(path: str | Path) -> Iterator[Record]:
    """Yield the records of a JSONL file; relative image paths are resolved against the file's directory.

    The file is first checked against the manifest beside it, if any (`rs_data.integrity`): `IncompleteDatasetError`
    when it is not what was written. Raises `RecordFileError` naming the file and line of the first invalid line.
    """
    path = Path(path)
    verify_records_file(path)
    base = path.parent
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = Record.model_validate_json(line)
            except ValidationError as error:
                raise RecordFileError(f"{path}:{number}: invalid record: {error}") from error
            yield resolve_image_paths(record, base)


def stored_image_path(image_path: str, folder: Path) -> str:
    """How a records file in `folder` stores an image path that is absolute or relative to the working directory:
    relative to `folder` when the image lies inside it, absolute otherwise (never relative to the working directory,
    so the file reads back from anywhere and moves with its folder)."""
    absolute = Path(os.path.abspath(image_path))
    try:
        return absolute.relative_to(folder).as_posix()
    except ValueError:
        return str(absolute)


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    """Write records as JSONL (one compact JSON object a line); returns the number written.

    Image paths of the records are taken as absolute or relative to the working directory (as readers and builders
    produce them) and stored by `stored_image_path`; the records themselves are not changed."""
    path = Path(path)
    folder = Path(os.path.abspath(path.parent))
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            images = [
                image.model_copy(update={"path": stored_image_path(image.path, folder)}) for image in record.images
            ]
            handle.write(record.model_copy(update={"images": images}).model_dump_json() + "\n")
            count += 1
    return count
