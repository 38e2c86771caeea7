"""Conversation rendering: a record plus the size the model will see -> Qwen-style messages.

Rendering happens online, after the resolution policy (and optional random resize) has fixed each image's size, so
box coordinates are written for exactly that size through rs-detect-eval's codec in the configured convention
(absolute resized pixels for Qwen2.5-VL, 0-1000 for Qwen3-VL). A grounding record with a fixed `target` is answered
in that box type, or (`seg`) with the text mask of `rs_data.masks` at one cell per visual token. Every image of a
record gets its own frame, and a VQA record over several images (a time series) shows them all. The ground truth
stays in original pixels in `RenderedSample.target` for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_validator, model_serializer
from rs_detect_eval import BoxType, TextStyle, format_objects, normalize_class
from rs_resolution import Convention, ImageFrame, ResolutionPolicy, load_image, resize_image

from rs_data.masks import mask_text
from rs_data.schema import (
    POLY_TAG,
    Annotation,
    CaptionAnnotation,
    ClassificationAnnotation,
    DetectionAnnotation,
    GroundingAnnotation,
    ImagePart,
    Record,
    VQAAnnotation,
)
from rs_data.templates import Templates


def _normalised(weights: dict[str, float], name: str) -> dict[str, float]:
    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"{name} needs non-negative weights with a positive sum, got {weights}")
    return weights


class RenderConfig(BaseModel):
    """How records become conversations: coordinate convention, box types and styles (drawn per sample with these
    probabilities), random-resize probability and the prompt templates."""

    model_config = ConfigDict(extra="forbid")

    convention: Convention = "absolute"
    box_types: dict[BoxType, float] = Field(default_factory=lambda: {"hbb": 1.0, "obb": 1.0, "poly": 1.0})
    styles: dict[TextStyle, float] = Field(default_factory=lambda: {"plain": 0.5, "json": 0.5})
    instruction_box_type: BoxType = "hbb"
    grounding_label: Literal["expression", "none"] = "expression"
    random_resize_prob: float = Field(default=0.0, ge=0.0, le=1.0)
    templates: Templates = Field(default_factory=Templates)

    _box_types = field_validator("box_types")(lambda v: _normalised(v, "box_types"))
    _styles = field_validator("styles")(lambda v: _normalised(v, "styles"))

    def merged(self, override: RenderOverride | None) -> RenderConfig:
        """This config with the fields `override` gives replaced (templates: template by template)."""
        if override is None:
            return self
        update = {name: getattr(override, name) for name in override.model_fields_set if name != "templates"}
        if "templates" in override.model_fields_set:
            given = override.templates.model_fields_set
            update["templates"] = self.templates.model_copy(
                update={name: getattr(override.templates, name) for name in given}
            )
        return self.model_copy(update=update)


class RenderOverride(RenderConfig):
    """A partial `RenderConfig` for one mixture entry: only the fields written (`model_fields_set`) apply, e.g.
    `{"box_types": {"hbb": 1}}` renders that entry's boxes as horizontal boxes whatever the global setting.
    Unknown keys and bad values are rejected like in `RenderConfig`; it dumps only the fields it sets."""

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        given = {name: value for name, value in data.items() if name in self.model_fields_set}
        if "templates" in given:
            templates = self.templates.model_fields_set
            given["templates"] = {name: value for name, value in given["templates"].items() if name in templates}
        return given


@dataclass
class RenderedSample:
    """One conversation ready for a Qwen processor, with what is needed to score the model's answer."""

    messages: list[dict[str, Any]]
    record_id: str
    dataset: str
    task: str
    frames: list[ImageFrame]
    target: Annotation | None
    box_type: BoxType | None = None
    style: TextStyle | None = None
    images: list[Image.Image] = field(default_factory=list)
    clipped: list[str] = field(default_factory=list)  # each box brought into the image, with the reason

    @property
    def answer(self) -> str | None:
        """The text of the final assistant turn (the training target), if any."""
        if self.messages and self.messages[-1]["role"] == "assistant":
            return "".join(p["text"] for p in self.messages[-1]["content"] if p["type"] == "text")
        return None


def prompt_messages(sample: RenderedSample) -> list[dict[str, Any]]:
    """The conversation without its final assistant answer (what a model is asked at inference)."""
    messages = sample.messages
    return messages[:-1] if messages and messages[-1]["role"] == "assistant" else list(messages)


def _draw(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    point = rng.random() * sum(weights.values())
    for name in names:
        point -= weights[name]
        if point < 0:
            return name
    return names[-1]


def _frame(record: Record, index: int, policy: ResolutionPolicy, config: RenderConfig, rng) -> ImageFrame:
    image = record.images[index]
    if config.random_resize_prob > 0 and rng.random() < config.random_resize_prob:
        return policy.random_frame(image.width, image.height, rng, record.dataset, record.task)
    return policy.frame(image.width, image.height, record.dataset, record.task)


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def _image_part(record: Record, index: int, frame: ImageFrame) -> dict[str, Any]:
    """The image part of `record.images[index]`; a windowed reference passes its `window` on (the pixels to cut from
    the file before resizing, see `rscovlm_model.images`)."""
    ref = record.images[index]
    part = {"type": "image", "image": ref.path}
    if ref.window is not None:
        part["window"] = list(ref.window)
    return part | {"resized_height": frame.resized_height, "resized_width": frame.resized_width}


def _conversation(system: str | None, images: list[dict], prompt: str, answer: str) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": [_text(system)]}] if system else []
    messages.append({"role": "user", "content": [*images, _text(prompt)]})
    messages.append({"role": "assistant", "content": [_text(answer)]})
    return messages


def _boxes(
    objects, box_type: BoxType, style: TextStyle, frame: ImageFrame, config: RenderConfig, clipped: list[str]
) -> str:
    pairs = [(label, np.asarray(polygon, dtype=np.float64)) for label, polygon in objects]
    return format_objects(pairs, box_type, style, frame, config.convention, clipped)


def render(
    record: Record,
    policy: ResolutionPolicy,
    config: RenderConfig,
    rng: np.random.Generator,
    load_images: bool = False,
) -> RenderedSample:
    """Render one record for the sizes `policy` (and random resize) chooses; `rng` drives every random choice.

    With `load_images`, the images are decoded and resized to those sizes into `RenderedSample.images`.
    """
    frames = [_frame(record, i, policy, config, rng) for i in range(len(record.images))]
    sample = RenderedSample([], record.id, record.dataset, record.task, frames, record.annotation)
    if record.messages is not None:
        sample.messages = _instruction_messages(record, frames, config, sample.clipped)
    else:
        _render_annotation(record, frames, config, rng, sample, policy.factor)
    if load_images:
        sample.images = prepare_images(record, frames)
    return sample


def prepare_images(record: Record, frames: list[ImageFrame]) -> list[Image.Image]:
    """Decode each image of `record` (its window only, for a windowed reference) and resize it to its frame's size
    (what the model sees)."""
    return [
        resize_image(load_image(ref.path, ref.window), frame.resized_height, frame.resized_width)
        for ref, frame in zip(record.images, frames, strict=True)
    ]


def _render_annotation(
    record: Record,
    frames: list[ImageFrame],
    config: RenderConfig,
    rng: np.random.Generator,
    sample: RenderedSample,
    factor: int,
) -> None:
    """A VQA record shows every image, in record order (a time series in time order), each at its own size, and
    writes the `<poly>` markers of its question and answer as boxes; the other tasks show the first image. Boxes are
    written for the first image's frame."""
    ann, templates, frame = record.annotation, config.templates, frames[0]
    image = [_image_part(record, 0, frame)]
    if isinstance(ann, GroundingAnnotation) and ann.target == "seg":
        prompt = templates.segmentation.format(expression=ann.expression)
        answer = f"<seg>{mask_text(ann.mask, frame, factor)}</seg>"
        sample.messages = _conversation(templates.system_segmentation, image, prompt, answer)
        return
    if isinstance(ann, ClassificationAnnotation):
        classes = templates.class_separator.join(c.lower() for c in ann.classes)
        prompt = templates.classification.format(classes=classes)
        sample.messages = _conversation(None, image, prompt, ann.label.lower())
    elif isinstance(ann, CaptionAnnotation):
        caption = ann.captions[int(rng.integers(len(ann.captions)))]
        sample.messages = _conversation(None, image, templates.captioning, caption)
    elif isinstance(ann, VQAAnnotation):
        template = templates.uhr_vqa if record.task == "uhr_vqa" else templates.vqa
        images = [_image_part(record, i, f) for i, f in enumerate(frames)]
        question, answer = (_marked_boxes(t, frame, config, sample.clipped) for t in (ann.question, ann.answer))
        sample.messages = _conversation(None, images, template.format(question=question), answer)
    elif isinstance(ann, DetectionAnnotation | GroundingAnnotation):
        fixed = ann.target if isinstance(ann, GroundingAnnotation) else None
        box_type = fixed or _draw(rng, config.box_types)
        style = _draw(rng, config.styles)
        sample.box_type, sample.style = box_type, style
        if isinstance(ann, DetectionAnnotation):
            names = sorted({normalize_class(c) for c in ann.classes})
            fields = {"categories": templates.category_separator.join(names)}
            objects = [(normalize_class(o.label), o.polygon) for o in ann.objects]
            plain, json_prompts = templates.detection_plain, templates.detection_json
        else:
            fields = {"expression": ann.expression}
            label = ann.expression if config.grounding_label == "expression" else ""
            objects = [(label, ann.polygon)]
            plain, json_prompts = templates.grounding_plain, templates.grounding_json
        if style == "plain":
            system, prompt = templates.system_plain.get(box_type), plain.format(**fields)
        else:
            system, prompt = templates.system_json.get(box_type), json_prompts[box_type].format(**fields)
        answer = _boxes(objects, box_type, style, frame, config, sample.clipped)
        sample.messages = _conversation(system, image, prompt, answer)
    else:
        raise ValueError(f"record {record.id}: no template for task {record.task!r}")


def _marked_boxes(text: str, frame: ImageFrame, config: RenderConfig, clipped: list[str]) -> str:
    """`text` with each `<poly>` marker written as a box of `config.instruction_box_type` for `frame`."""

    def replace(match) -> str:
        polygon = [float(v) for v in match.group(1).split(",")]
        return _boxes([("", polygon)], config.instruction_box_type, "plain", frame, config, clipped).strip()

    return POLY_TAG.sub(replace, text)


def _instruction_messages(
    record: Record, frames: list[ImageFrame], config: RenderConfig, clipped: list[str]
) -> list[dict[str, Any]]:
    """The record's own messages with its image parts sized and its `<poly>` markers written for the first image."""

    def boxes(text: str, where: str) -> str:
        if not POLY_TAG.search(text):
            return text
        if not frames:
            raise ValueError(f"record {record.id}: {where} has a <poly> marker, but the record has no image")
        return _marked_boxes(text, frames[0], config, clipped)

    messages = []
    for i, message in enumerate(record.messages or []):
        content = [
            _image_part(record, p.image, frames[p.image])
            if isinstance(p, ImagePart)
            else _text(boxes(p.text, f"messages[{i}].content[{j}]"))
            for j, p in enumerate(message.content)
        ]
        messages.append({"role": message.role, "content": content})
    return messages
