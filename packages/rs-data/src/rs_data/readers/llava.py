"""LLaVA-style instruction data (GeoChat, VHM): `[{"id", "image", "conversations": [{"from", "value"}]}]`.

`<image>` in a turn marks where the image goes (prepended to the first human turn when absent). GeoChat boxes
`{<x1><y1><x2><y2>|<θ>}` (0-100 grid of the image, θ in degrees) become `<poly>` markers in original pixels, which
rendering writes in the model's own box convention. A box reaching past the grid is clipped to it (counted in
`meta["boxes_clipped"]`); a conversation with a box wholly outside the grid is skipped with the reason. Entries in
the message-list form (`messages` with typed content parts) are read by `rs_data.readers.messages`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rs_resolution import ImageFrame, from_model, obb_to_poly

from rs_data.readers._common import ImageIndex, Reader, ReadResult, image_ref, load_json, object_or_skip, read_jsonl
from rs_data.readers.messages import is_message_entry, read_message_entry
from rs_data.schema import ImagePart, ImageRef, Message, Record, Skipped, TextPart, poly_tag

GEOCHAT_BOX = re.compile(
    r"\{<(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)>\|<(-?\d+(?:\.\d+)?)>\}"
)
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


@dataclass(frozen=True)
class LlavaContext:
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


def prepare(
    src: Path, images: str | Path | None = None, dataset: str = "llava", split: str | None = None
) -> tuple[LlavaContext, list[tuple[int, dict]]]:
    """`src` is a JSON list or a JSONL file; images under `images` (default: the file's directory)."""
    if src.suffix == ".jsonl":
        entries = read_jsonl(src)
    else:
        data = load_json(src)
        if not isinstance(data, list):
            raise ValueError(f"{src}: expected a JSON list of conversations")
        entries = list(enumerate(data))
    image_dir = Path(images) if images else src.parent
    return LlavaContext(dataset, str(src), ImageIndex(image_dir), split), entries


def clip_to_grid(box: tuple[float, ...]) -> tuple[tuple[float, ...], bool]:
    """The box's corners clipped to the 0-100 grid, and whether that changed them; ValueError when nothing is left."""
    x1, y1, x2, y2, angle = (float(v) for v in box)
    clipped = tuple(min(max(v, 0.0), 100.0) for v in (x1, y1, x2, y2))
    if clipped[0] == clipped[2] or clipped[1] == clipped[3]:
        raise ValueError(f"GeoChat box {[x1, y1, x2, y2]} lies outside the 0-100 grid")
    return (*clipped, angle), clipped != (x1, y1, x2, y2)


def geochat_polygon(box: tuple[float, float, float, float, float], image: ImageRef) -> list[float]:
    """A GeoChat box (x1, y1, x2, y2 on the 0-100 grid of the image, θ in degrees) as a polygon in original pixels."""
    frame = ImageFrame(width=image.width, height=image.height, resized_width=image.width, resized_height=image.height)
    x1, y1, x2, y2, angle = clip_to_grid(box)[0]
    (px1, py1), (px2, py2) = from_model(np.array([[x1, y1], [x2, y2]]), frame, "relative100")
    obb = np.array([(px1 + px2) / 2, (py1 + py2) / 2, abs(px2 - px1), abs(py2 - py1), angle])
    return obb_to_poly(obb).tolist()


def geochat_polygons(text: str, image: ImageRef) -> list[list[float]]:
    """Every GeoChat box `{<x1><y1><x2><y2>|<θ>}` of `text` as a polygon in original pixels."""
    return [geochat_polygon(tuple(float(v) for v in m.groups()), image) for m in GEOCHAT_BOX.finditer(text)]


def geochat_to_poly_tags(text: str, image: ImageRef) -> str:
    """Rewrite every GeoChat box of `text` as a `<poly>` marker in original pixels."""
    return GEOCHAT_BOX.sub(lambda m: poly_tag(geochat_polygon(tuple(float(v) for v in m.groups()), image)), text)


def _content(text: str, next_image: int) -> tuple[list, int]:
    parts: list = []
    pieces = text.split("<image>")
    for i, piece in enumerate(pieces):
        if i > 0:
            parts.append(ImagePart(image=next_image))
            next_image += 1
        if piece.strip():
            parts.append(TextPart(text=piece.strip("\n")))
    return parts, next_image


def read_unit(context: LlavaContext, unit: tuple[int, dict]) -> ReadResult:
    index, entry = unit
    result = ReadResult()
    line = index if context.source.endswith(".jsonl") else None
    where = f"entry {index}" if line is None else "entry"
    if is_message_entry(entry):  # a message list, bare or under `messages`
        return read_message_entry(context, entry, line, where, str(index))
    entry = object_or_skip(entry, where, context.source, line, result.skipped)
    if entry is None:
        return result
    if not isinstance(entry.get("conversations"), list) or not entry["conversations"]:
        result.skipped.append(Skipped(context.source, line, f"{where}: needs a non-empty 'conversations' list"))
        return result
    names = entry.get("image") or []
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        result.skipped.append(Skipped(context.source, line, f"{where}: 'image' is {names!r}, not a name or names"))
        return result
    refs = [image_ref(context.images.find(n), context.source, line, result.skipped, name=n) for n in names]
    if any(r is None for r in refs):
        return result
    messages, next_image, clipped = [], 0, 0
    for turn in entry["conversations"]:
        role = ROLES.get(turn.get("from")) if isinstance(turn, dict) else None
        value = turn.get("value") if isinstance(turn, dict) else None
        if role is None or not isinstance(value, str):
            result.skipped.append(Skipped(context.source, line, f"{where}: bad turn {turn!r}"))
            return result
        if refs:
            try:
                clipped += sum(
                    clip_to_grid(tuple(float(v) for v in m.groups()))[1] for m in GEOCHAT_BOX.finditer(value)
                )
            except ValueError as error:
                result.skipped.append(Skipped(context.source, line, f"{where}: {error}"))
                return result
            value = geochat_to_poly_tags(value, refs[0])
        parts, next_image = _content(value, next_image)
        messages.append(Message(role=role, content=parts))
    first_user = next((m for m in messages if m.role == "user"), None)
    if refs and next_image == 0 and first_user is not None:
        first_user.content.insert(0, ImagePart(image=0))
    elif next_image != len(refs):
        result.skipped.append(Skipped(context.source, line, f"{where}: {next_image} <image> tags, {len(refs)} images"))
        return result
    result.records.append(
        Record(
            id=str(entry.get("id", index)),
            dataset=context.dataset,
            task="instruction",
            images=refs,
            messages=messages,
            split=context.split,
            meta={"boxes_clipped": clipped} if clipped else {},
        )
    )
    return result


READER = Reader(
    "llava",
    "LLaVA-style conversation JSON (GeoChat, VHM) or Qwen message lists; GeoChat boxes converted",
    prepare,
    read_unit,
)
