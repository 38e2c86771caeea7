"""Zoom-chain training records (rs-data schema): the one place their conversation is laid out.

`chain_record` makes the record of one question. With a zoom (the crop's image reference and the tool-call box in
pixels of the overview, the record's first image), one Zoom-in Chain round: the tool's system prompt, the overview
with the question and the zoom instruction, the tool call, the crop with the zoomed-in prompt, the answer; without,
the plain question on the overview. The tool-call box is stored as an rs-data `<poly>` marker, so rendering writes it
in the configured convention for the size the overview is shown at.

`rs-zoom build` writes overview and crop files and calls it; `visual_cot_chain` calls it for a record of rs-data's
`visual-cot` reader as it is: the overview is the source image and the crop a window of it, so nothing is written
(`as_zoom_chain` does so for training, record by record as they load).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from rs_data import ImagePart, ImageRef, Message, Record, TextPart
from rs_data.dataset import UnusableRecordError
from rs_data.readers.visual_cot import checked_crop_boxes
from rs_data.render import RenderConfig
from rs_data.schema import VQAAnnotation, poly_tag
from rs_resolution import MAX_RATIO, Convention, CropWindow, hbb_to_poly

from rs_zoom.chain import TASK
from rs_zoom.crop import RegionOutsideImageError, clamp_region
from rs_zoom.protocol import ZOOMED_PROMPT, tool_call_text, tool_system_prompt, zoom_question

CROP_BOXES = "crop_hbox"  # where rs-data's visual-cot reader keeps a record's crop boxes (in `Record.meta`)


class CropBoxError(UnusableRecordError):
    """A visual-cot record whose crop box cannot make a chain (malformed, outside the image, too thin a crop)."""


def chain_record(
    record_id: str,
    dataset: str,
    split: str | None,
    overview: ImageRef,
    question: str,
    answer: str,
    zoom: tuple[ImageRef, Sequence[float]] | None,
    convention: Convention,
    meta: dict[str, Any],
) -> Record:
    """The record of one question: a zoom round when `zoom` = (crop, box x1, y1, x2, y2 on the overview) is given,
    else the plain question on the overview; `convention` words the tool's description."""
    if zoom is None:
        images = [overview]
        messages = [_message("user", 0, question), _message("assistant", None, answer)]
    else:
        crop, box = zoom
        images = [overview, crop]
        tool_call = tool_call_text(poly_tag(hbb_to_poly(np.asarray(box, dtype=np.float64)).tolist()))
        messages = [
            _message("system", None, tool_system_prompt(convention)),
            _message("user", 0, zoom_question(question)),
            _message("assistant", None, tool_call),
            _message("user", 1, ZOOMED_PROMPT),
            _message("assistant", None, answer),
        ]
    return Record(id=record_id, dataset=dataset, task=TASK, images=images, messages=messages, split=split, meta=meta)


def _message(role: str, image: int | None, text: str) -> Message:
    parts: list[ImagePart | TextPart] = [] if image is None else [ImagePart(image=image)]
    return Message(role=role, content=[*parts, TextPart(text=text)])


def exact_window(region: Sequence[float]) -> CropWindow:
    """The pixels a box (already inside the image) covers, as upstream cuts its crop boxes: no margin, no minimum."""
    x1, y1, x2, y2 = region
    x0, y0 = math.floor(x1), math.floor(y1)
    return CropWindow(x0=x0, y0=y0, x1=max(math.ceil(x2), x0 + 1), y1=max(math.ceil(y2), y0 + 1))


def too_thin(window: CropWindow) -> bool:
    """Whether a crop is beyond the aspect ratio a Qwen processor accepts (`MAX_RATIO`)."""
    return max(window.size) / min(window.size) > MAX_RATIO


def is_visual_cot(record: Record) -> bool:
    """Whether `record` is a question of rs-data's `visual-cot` reader (a VQA annotation with crop boxes)."""
    return CROP_BOXES in record.meta and isinstance(record.annotation, VQAAnnotation)


def visual_cot_chain(record: Record, convention: Convention) -> Record:
    """The record `rs-zoom build --source-format visual-cot` makes of a visual-cot record, made in memory.

    The overview is the record's source image (rendering sizes it by the resolution policy) and the crop the window of
    that file the builder cuts: `exact_window` of the one crop box clipped by `clamp_region`, at full resolution. A
    record with no or several crop boxes becomes the plain question. Raises `CropBoxError` naming the record.
    """
    source = record.images[0]
    if len(record.images) != 1 or source.window is not None:
        raise CropBoxError(f"record {record.id}: a visual-cot question shows one whole image")
    try:
        boxes = checked_crop_boxes(record.meta[CROP_BOXES])
    except (TypeError, ValueError) as error:
        raise CropBoxError(f"record {record.id}: {CROP_BOXES} {record.meta[CROP_BOXES]!r}: {error}") from error
    zoom = None
    if len(boxes) == 1:
        try:
            region, _ = clamp_region(boxes[0], (source.width, source.height))
        except RegionOutsideImageError as error:
            raise CropBoxError(f"record {record.id}: crop box {boxes[0]}: {error}") from error
        window = exact_window(region)
        if too_thin(window):
            raise CropBoxError(f"record {record.id}: the {window.width}x{window.height} crop of {boxes[0]} is too thin")
        crop = ImageRef(path=source.path, width=window.width, height=window.height, window=window.corners)
        zoom = (crop, region)
    ann = record.annotation
    return chain_record(
        record.id, record.dataset, record.split, source, ann.question, ann.answer, zoom, convention, record.meta
    )


def as_zoom_chain(record: Record, config: RenderConfig) -> Record:
    """A `rs_data.dataset.MixtureDataset` prepare step: a visual-cot record as its chain (`visual_cot_chain`) in the
    coordinate convention of `config`, any other record as it is."""
    return visual_cot_chain(record, config.convention) if is_visual_cot(record) else record
