"""The Zoom-in Chain's text protocol: fixed prompts, the `image_zoom_in` tool declaration, and tool-call text.

A zoom round is one assistant turn holding a Qwen-style tool call::

    <tool_call>
    {"name": "image_zoom_in", "arguments": {"bbox": [x1, y1, x2, y2]}}
    </tool_call>

The box is in the model's coordinate convention for the overview image it saw first (integer pixels of the resized
overview for "absolute", 0-1000 for "relative1000", ...). `parse_tool_call` reads such a turn back from free model
output and says how it fared in `ToolCallParse.status`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

TOOL_NAME = "image_zoom_in"
ZOOM_INSTRUCTION = "Zoom in to the region of interest and answer the question."
ZOOMED_PROMPT = "Here's the zoomed-in image. You can complete your task now."

_COORDINATE_WORDING = {
    "absolute": "absolute pixel coordinates in the image",
    "relative1000": "coordinates relative to the image, scaled to 0-1000",
    "relative100": "coordinates relative to the image, scaled to 0-100",
    "relative1": "coordinates relative to the image, as fractions in 0-1",
}


def tool_schema(convention: str = "absolute") -> dict:
    """The `image_zoom_in` function declaration, in the JSON form Qwen chat templates list inside `<tools>`."""
    if convention not in _COORDINATE_WORDING:
        raise ValueError(f"unknown coordinate convention {convention!r}; expected one of {sorted(_COORDINATE_WORDING)}")
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": (
                "Zoom in to a region of interest of the first image of the conversation and return that region at "
                "full resolution, to view small details clearly."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "bbox": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 4,
                        "maxItems": 4,
                        "description": (
                            "The region as [x1, y1, x2, y2]: its top-left and bottom-right corners in "
                            f"{_COORDINATE_WORDING[convention]}."
                        ),
                    }
                },
                "required": ["bbox"],
            },
        },
    }


def tool_system_prompt(convention: str = "absolute") -> str:
    """The system prompt declaring `image_zoom_in`, laid out as Qwen2.5's chat template lays out `tools`."""
    return (
        "# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{json.dumps(tool_schema(convention), ensure_ascii=False)}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


TOOL_SYSTEM_PROMPT = tool_system_prompt("absolute")


def zoom_question(question: str) -> str:
    """The first user turn's text: the question followed by the zoom instruction."""
    return f"{question.rstrip()}\n{ZOOM_INSTRUCTION}"


def format_tool_call(bbox: Sequence[float]) -> str:
    """The assistant turn asking to zoom into `bbox` (x1, y1, x2, y2 in the model's convention).

    Integral values are written as integers, others as floats (the "relative1" convention).
    """
    if len(bbox) != 4:
        raise ValueError(f"a zoom box has 4 numbers (x1, y1, x2, y2), got {len(bbox)}")
    return tool_call_text(", ".join(json.dumps(_json_number(v)) for v in bbox))


def tool_call_text(bbox_text: str) -> str:
    """The tool-call turn with `bbox_text` written verbatim between the box brackets.

    Training records put an `rs_data` `<poly>` marker there, which rendering turns into the box numbers for the size
    the model sees.
    """
    return f'<tool_call>\n{{"name": "{TOOL_NAME}", "arguments": {{"bbox": [{bbox_text}]}}}}\n</tool_call>'


def _json_number(value: float) -> int | float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a zoom box coordinate must be finite, got {value}")
    return int(value) if value.is_integer() else value


ParseStatus = Literal["ok", "repaired", "no_call", "invalid"]


@dataclass(frozen=True)
class ToolCallParse:
    """What `parse_tool_call` found.

    - status "ok": a well-formed call; "repaired": a usable call after the fixes listed in `detail`;
      "no_call": the text holds no tool call (a plain answer); "invalid": a call was attempted but no box could be read
      (`detail` says why).
    - `bbox` is (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2 in the model's convention, or None.
    """

    bbox: tuple[float, float, float, float] | None
    status: ParseStatus
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.bbox is not None


_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_BBOX_LIST = re.compile(r"[\"']?bbox(?:_2d)?[\"']?\s*[:=]\s*\[([^\[\]]*)\]")


def parse_tool_call(text: str) -> ToolCallParse:
    """Read an `image_zoom_in` call from model output, tolerating the usual ways models get it slightly wrong.

    Repaired (status "repaired", fixes named in `detail`): a missing closing tag, a missing opening tag when the text
    is the call's JSON, single quotes or trailing commas in the JSON, the key `bbox_2d`, a box given as a bare list for
    `arguments`, numbers written as strings, and reversed corners (swapped). Not read (status "invalid"): JSON that
    still does not parse and holds no `bbox: [...]`, another tool's name, a box without exactly four finite numbers.
    """
    fixes: list[str] = []
    payload = _extract_payload(text, fixes)
    if payload is None:
        return ToolCallParse(None, "no_call")
    call = _load_json(payload, fixes)
    if call is None:
        match = _BBOX_LIST.search(payload)
        if match is None:
            return ToolCallParse(None, "invalid", f"tool call is not valid JSON: {payload[:80]!r}")
        fixes.append("box read from malformed JSON")
        raw_box: object = [part.strip().strip("'\"") for part in match.group(1).split(",") if part.strip()]
    else:
        name = call.get("name", TOOL_NAME) if isinstance(call, dict) else TOOL_NAME
        if name != TOOL_NAME:
            return ToolCallParse(None, "invalid", f"unknown tool {name!r}")
        raw_box = _box_from_call(call, fixes)
        if raw_box is None:
            return ToolCallParse(None, "invalid", "tool call has no `bbox` argument")
    bbox = _four_numbers(raw_box, fixes)
    if bbox is None:
        return ToolCallParse(None, "invalid", f"`bbox` is not four finite numbers: {raw_box!r}")
    x1, y1, x2, y2 = bbox
    if x1 > x2 or y1 > y2:
        fixes.append("reversed corners swapped")
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
    status: ParseStatus = "repaired" if fixes else "ok"
    return ToolCallParse((x1, y1, x2, y2), status, "; ".join(dict.fromkeys(fixes)))


def _extract_payload(text: str, fixes: list[str]) -> str | None:
    """The text between the tool-call tags, or the JSON-looking call when tags are missing; None when no call."""
    start = text.find(_OPEN)
    if start >= 0:
        body = text[start + len(_OPEN) :]
        end = body.find(_CLOSE)
        if end < 0:
            fixes.append("missing closing tag")
            return body.strip()
        return body[:end].strip()
    end = text.find(_CLOSE)
    if end >= 0:
        fixes.append("missing opening tag")
        return text[:end].strip()
    if TOOL_NAME in text:  # untagged: only when the tool is named, so a JSON answer with boxes stays an answer
        brace = text.find("{")
        if brace >= 0:
            fixes.append("missing tags")
            return text[brace : text.rfind("}") + 1].strip() or text[brace:].strip()
    return None


def _load_json(payload: str, fixes: list[str]) -> object | None:
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        pass
    lenient = re.sub(r",\s*([}\]])", r"\1", payload.replace("'", '"'))
    try:
        value = json.loads(lenient)
    except json.JSONDecodeError:
        return None
    fixes.append("lenient JSON (quotes or trailing commas)")
    return value


def _box_from_call(call: object, fixes: list[str]) -> object | None:
    if isinstance(call, list):
        fixes.append("bare box instead of a call object")
        return call
    if not isinstance(call, dict):
        return None
    arguments = call.get("arguments", call)
    if isinstance(arguments, str):
        arguments = _load_json(arguments, fixes)
        fixes.append("arguments given as a JSON string")
    if isinstance(arguments, list):
        fixes.append("bare box as arguments")
        return arguments
    if not isinstance(arguments, dict):
        return None
    if "bbox" in arguments:
        return arguments["bbox"]
    if "bbox_2d" in arguments:
        fixes.append("key bbox_2d")
        return arguments["bbox_2d"]
    return None


def _four_numbers(raw: object, fixes: list[str]) -> tuple[float, float, float, float] | None:
    if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list):
        fixes.append("nested box list")
        raw = raw[0]
    if not isinstance(raw, list) or len(raw) != 4:
        return None
    values = []
    for item in raw:
        if isinstance(item, bool):
            return None
        if isinstance(item, str):
            if not re.fullmatch(_NUMBER, item.strip()):
                return None
            fixes.append("numbers written as strings")
        try:
            value = float(item)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        values.append(value)
    return values[0], values[1], values[2], values[3]
