"""TEOChatlas (TEOChat's multi-temporal instruction data): LLaVA conversations over a time series of images.

An entry is `{"id", "video": [FRAME, ...], "conversations": [{"from", "value"}], "timestamps": ["YYYY-MM-DD", ...]}`
and may also name single images under `image`. `<video>` in a turn places every frame there (one image part each,
so every frame keeps its own resized size), `<image>` the next single image; without any tag all of them open the
first human turn. Frames are put in time order by `timestamps` (`timestamp` in TEOChatlas' Hugging Face release, or
TEOChat's per-frame `metadata[i].timestamp`), which the record keeps in `meta["timestamps"]`.

Boxes are written `[x_min, y_min, x_max, y_max]` on a 0-100 grid of the image (several boxes may share one pair of
brackets); each becomes a `<poly>` marker in original pixels of the record's first image, which rendering writes in
the model's own box convention. Bracketed numbers that are not groups of four are left as text. When the answer
repeats exactly the boxes of the question (region captions), they are dropped from the answer, as upstream does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rs_resolution import hbb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, image_ref
from rs_data.readers.entries import BadEntry, Entry, read_entries
from rs_data.readers.llava import ROLES
from rs_data.schema import ImagePart, ImageRef, Message, Record, TextPart, poly_tag

BOX_GROUP = re.compile(r"\[(\d+(?:\.\d+)?(?:\s*,\s*\d+(?:\.\d+)?)*)\]")
TAG = re.compile(r"(<image>|<video>)")
GRID = 100.0


@dataclass(frozen=True)
class TEOChatContext:
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


def prepare(
    src: Path, images: str | Path | None = None, dataset: str = "teochatlas", split: str | None = None
) -> tuple[TEOChatContext, list[Entry]]:
    """`src` is a TEOChatlas JSON list (or JSONL); frames and images under `images` (default: the file's folder)."""
    image_dir = Path(images) if images else src.parent
    return TEOChatContext(dataset, str(src), ImageIndex(image_dir), split), read_entries(src)


def _names(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise BadEntry(f"'{field}' must be a path or a list of paths")
    return names


def _timestamps(entry: dict[str, Any], frames: int) -> list[str]:
    stamps = entry.get("timestamps", entry.get("timestamp"))
    if stamps is None and isinstance(entry.get("metadata"), list):
        stamps = [m.get("timestamp") for m in entry["metadata"] if isinstance(m, dict)]
    stamps = [] if stamps is None else stamps
    if not isinstance(stamps, list):
        raise BadEntry("'timestamps' must be a list")
    if stamps and len(stamps) != frames:
        raise BadEntry(f"{len(stamps)} timestamps for {frames} frames")
    for stamp in stamps:
        try:
            date.fromisoformat(str(stamp))
        except ValueError as error:
            raise BadEntry(f"timestamp {stamp!r} is not YYYY-MM-DD") from error
    return [str(s) for s in stamps]


def in_time_order(entry: dict[str, Any], frames: list[str]) -> tuple[list[str], list[str]]:
    """`frames` and their timestamps sorted by date (stable), or as given when the entry has no timestamps."""
    stamps = _timestamps(entry, len(frames))
    if not stamps:
        return frames, stamps
    order = sorted(range(len(frames)), key=lambda i: date.fromisoformat(stamps[i]))
    return [frames[i] for i in order], [stamps[i] for i in order]


def grid_boxes_to_poly_tags(text: str, image: ImageRef) -> str:
    """Rewrite every bracketed group of 0-100 boxes in `text` as `<poly>` markers in `image`'s original pixels."""

    def replace(match: re.Match[str]) -> str:
        values = [float(v) for v in match.group(1).split(",")]
        if len(values) % 4:
            return match.group(0)
        if max(values) > GRID:
            raise BadEntry(f"box {match.group(0)} is beyond the 0-100 grid")
        scale = np.array([image.width, image.height] * 2) / GRID
        boxes = np.asarray(values).reshape(-1, 4) * scale
        return "[" + ", ".join(poly_tag(hbb_to_poly(box).tolist()) for box in boxes) + "]"

    return BOX_GROUP.sub(replace, text)


def _content(text: str, frames: list[int], singles: list[int]) -> tuple[list[ImagePart | TextPart], int]:
    """The parts of one turn and how many tags it had; `singles` is consumed as `<image>` tags are met."""
    parts: list[ImagePart | TextPart] = []
    tags = 0
    for piece in TAG.split(text):
        if piece == "<video>":
            parts.extend(ImagePart(image=i) for i in frames)
            tags += 1
        elif piece == "<image>":
            if not singles:
                raise BadEntry("more <image> tags than images")
            parts.append(ImagePart(image=singles.pop(0)))
            tags += 1
        elif piece.strip():
            parts.append(TextPart(text=piece.strip("\n")))
    return parts, tags


def _unrepeated(turns: list[Any]) -> list[Any]:
    """Region captions repeat the question's boxes in the answer; upstream drops them from the answer, as here."""
    if len(turns) < 2 or not all(isinstance(t, dict) and isinstance(t.get("value"), str) for t in turns[:2]):
        return turns
    asked, answered = (BOX_GROUP.findall(t["value"]) for t in turns[:2])
    if not asked or asked != answered:
        return turns
    answer = {**turns[1], "value": BOX_GROUP.sub("", turns[1]["value"]).strip()}
    return [turns[0], answer, *turns[2:]]


def _messages(entry: dict[str, Any], refs: list[ImageRef], frames: int) -> list[Message]:
    turns = entry.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise BadEntry("needs a non-empty 'conversations' list")
    turns = _unrepeated(turns)
    frame_ids, singles = list(range(frames)), list(range(frames, len(refs)))
    messages, tags = [], 0
    for turn in turns:
        speaker = turn.get("from") if isinstance(turn, dict) else None
        role = ROLES.get(speaker) if isinstance(speaker, str) else None
        value = turn.get("value") if isinstance(turn, dict) else None
        if role is None or not isinstance(value, str):
            raise BadEntry(f"bad turn {turn!r}")
        if refs:
            value = grid_boxes_to_poly_tags(value, refs[0])
        parts, found = _content(value, frame_ids, singles)
        tags += found
        messages.append(Message(role=role, content=parts))
    if refs and tags == 0:
        first_user = next((m for m in messages if m.role == "user"), None)
        if first_user is None:
            raise BadEntry("images but no human turn to show them in")
        first_user.content[:0] = [ImagePart(image=i) for i in range(len(refs))]
    elif singles:
        raise BadEntry(f"{len(singles)} image(s) without an <image> tag")
    return messages


def read_unit(context: TEOChatContext, entry: Entry) -> ReadResult:
    result = ReadResult()
    value = entry.value
    if entry.error is not None or not isinstance(value, dict):
        result.skipped.append(entry.skip(context.source, entry.error or "not a JSON object"))
        return result
    try:
        frames, stamps = in_time_order(value, _names(value.get("video"), "video"))
        names = frames + _names(value.get("image"), "image")
    except BadEntry as error:
        result.skipped.append(entry.skip(context.source, str(error)))
        return result
    refs = [image_ref(context.images.find(n), context.source, entry.line, result.skipped, name=n) for n in names]
    if any(ref is None for ref in refs):
        return result
    try:
        messages = _messages(value, refs, len(frames))
    except BadEntry as error:
        result.skipped.append(entry.skip(context.source, str(error)))
        return result
    meta = {"timestamps": stamps} if stamps else {}
    if isinstance(value.get("task"), str):
        meta["task"] = value["task"]
    result.records.append(
        Record(
            id=str(value.get("id", entry.index)),
            dataset=context.dataset,
            task="instruction",
            images=refs,
            messages=messages,
            split=context.split,
            meta=meta,
        )
    )
    return result


READER = Reader(
    "teochatlas",
    "TEOChatlas multi-temporal conversations (`video` frame lists, timestamps, 0-100 boxes)",
    prepare,
    read_unit,
)
