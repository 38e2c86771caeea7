"""Qwen / LLaVA message lists with typed content parts, the other form of instruction data besides `conversations`.

An entry is either a list of messages (upstream RSCoVLM's own form) or an object with `messages` (and optionally
`id` and `images`). A message is `{"role", "content"}`; `content` is a string or a list of parts:
`{"type": "text", "text"}`, `{"type": "image", "image": PATH}` (a `file://` prefix is dropped; paths are looked up
under the reader's image folder), `{"type": "image_url", "image_url": {"url": PATH}}`, or `{"type": "video",
"video": [FRAME, ...]}` (a list of frames becomes one image part per frame). In string content, each `<image>` tag
takes the next name of the entry's `images`.
"""

from __future__ import annotations

from typing import Any, Protocol

from rs_data.readers._common import ImageIndex, ReadResult, image_ref
from rs_data.readers.entries import BadEntry
from rs_data.schema import ImagePart, ImageRef, Message, Record, Skipped, TextPart

ROLES = ("system", "user", "assistant")
FILE_PREFIX = "file://"


class MessageContext(Protocol):
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


def is_message_entry(value: Any) -> bool:
    """Whether `value` is a message list or an object carrying one under `messages`."""
    return isinstance(value, list) or (isinstance(value, dict) and "messages" in value)


def _image_name(part: dict[str, Any]) -> str:
    if part.get("type") == "image_url" or "image_url" in part:
        url = part.get("image_url")
        name = url.get("url") if isinstance(url, dict) else url
    else:
        name = part.get("image")
    if not isinstance(name, str) or not name:
        raise BadEntry(f"image part without a path: {part!r}")
    return name.removeprefix(FILE_PREFIX)


class _Builder:
    """Collects the image names of an entry in order while turning its content into schema parts."""

    def __init__(self, tagged: list[str]) -> None:
        self.names: list[str] = []
        self.tagged = list(tagged)

    def image(self, name: str) -> ImagePart:
        self.names.append(name)
        return ImagePart(image=len(self.names) - 1)

    def text(self, text: str) -> list[ImagePart | TextPart]:
        parts: list[ImagePart | TextPart] = []
        for i, piece in enumerate(text.split("<image>")):
            if i > 0:
                if not self.tagged:
                    raise BadEntry("more <image> tags than names in 'images'")
                parts.append(self.image(self.tagged.pop(0)))
            if piece.strip():
                parts.append(TextPart(text=piece.strip("\n")))
        return parts

    def part(self, part: Any) -> list[ImagePart | TextPart]:
        if isinstance(part, str):
            return self.text(part)
        if not isinstance(part, dict):
            raise BadEntry(f"content part is not an object: {part!r}")
        kind = part.get("type")
        if kind == "text" or (kind is None and "text" in part):
            if not isinstance(part.get("text"), str):
                raise BadEntry(f"text part without text: {part!r}")
            return self.text(part["text"])
        if kind == "video" or "video" in part:
            frames = part.get("video")
            if not isinstance(frames, list) or not frames or not all(isinstance(f, str) for f in frames):
                raise BadEntry("only videos given as a list of frame paths are supported")
            return [self.image(f.removeprefix(FILE_PREFIX)) for f in frames]
        if kind in ("image", "image_url") or "image" in part or "image_url" in part:
            return [self.image(_image_name(part))]
        raise BadEntry(f"unknown content part type {kind!r}")

    def message(self, message: Any) -> Message:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise BadEntry(f"bad message {message!r}: needs a role among {ROLES}")
        content = message.get("content")
        if isinstance(content, str):
            parts = self.text(content)
        elif isinstance(content, list):
            parts = [p for part in content for p in self.part(part)]
        else:
            raise BadEntry(f"message content must be a string or a list of parts, got {type(content).__name__}")
        return Message(role=message["role"], content=parts)


def read_message_entry(
    context: MessageContext, value: Any, line: int | None, where: str, fallback_id: str
) -> ReadResult:
    """One record (task `instruction`) from a message-list entry (id: its `id`, else `fallback_id`), or the reason
    it has none."""
    result = ReadResult()
    entry = {"messages": value} if isinstance(value, list) else value
    tagged = entry.get("images") or []
    tagged = [tagged] if isinstance(tagged, str) else tagged
    try:
        if not isinstance(entry["messages"], list) or not entry["messages"]:
            raise BadEntry("needs a non-empty 'messages' list")
        builder = _Builder(tagged)
        messages = [builder.message(m) for m in entry["messages"]]
        if builder.tagged:
            raise BadEntry(f"{len(builder.tagged)} name(s) in 'images' without an <image> tag")
    except BadEntry as error:
        result.skipped.append(Skipped(context.source, line, f"{where}: {error}"))
        return result
    refs: list[ImageRef | None] = [
        image_ref(context.images.find(name), context.source, line, result.skipped, name=name) for name in builder.names
    ]
    if any(ref is None for ref in refs):
        return result
    result.records.append(
        Record(
            id=str(entry.get("id", fallback_id)),
            dataset=context.dataset,
            task="instruction",
            images=refs,
            messages=messages,
            split=context.split,
        )
    )
    return result
