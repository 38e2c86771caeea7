"""JSON and JSONL instruction files read entry by entry: every entry keeps where it came from, and a line that is not
JSON becomes an entry that reports itself (a counted skip, never a traceback). A UTF-8 byte-order mark is accepted."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rs_data.schema import Skipped


@dataclass(frozen=True)
class Entry:
    """One entry of a file: its JSON value (None when the line was not JSON), where it is, and any parse error."""

    value: Any
    line: int | None
    index: int
    error: str | None = None

    def skip(self, source: str, reason: str) -> Skipped:
        """A skip of this entry: a JSONL line is named by its number, a JSON list entry by its index."""
        return Skipped(source, self.line, reason if self.line is not None else f"entry {self.index}: {reason}")


class BadEntry(ValueError):
    """An entry that cannot become a record; the message is the skip reason."""


def _positive_integer(value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return number and value == int(value) and value > 0


def annotated_size(row: dict[str, Any], width_key: str, height_key: str) -> tuple[int, int] | None:
    """The (width, height) an entry states for its image, or None when it states neither."""
    if width_key not in row and height_key not in row:
        return None
    values = (row.get(width_key), row.get(height_key))
    if not all(_positive_integer(v) for v in values):
        raise BadEntry(f"'{width_key}' and '{height_key}' must be positive integers, got {list(values)}")
    return int(values[0]), int(values[1])


def read_entries(src: Path) -> list[Entry]:
    """The entries of a `.jsonl` file (one a line, blank lines ignored) or of a JSON list.

    A JSON file that does not parse or is not a list raises `ValueError` naming the file (line and column)."""
    text = src.read_text(encoding="utf-8-sig")
    if src.suffix == ".jsonl":
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(Entry(json.loads(line), number, len(entries)))
            except json.JSONDecodeError as error:
                entries.append(Entry(None, number, len(entries), f"invalid JSON: {error.msg}"))
        return entries
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{src}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error
    if not isinstance(data, list):
        raise ValueError(f"{src}: expected a JSON list of entries, got {type(data).__name__}")
    return [Entry(value, None, index) for index, value in enumerate(data)]
