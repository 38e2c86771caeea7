"""Fuzzing machinery shared by the reader tests: JSON values of any type put in place of a real entry's fields, XML
documents edited element by element, and the check every fuzzed read must pass."""

from __future__ import annotations

import copy
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from rs_data.convert import StrictModeError, convert
from rs_data.readers import READERS, ReadResult

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)

#: One edit of an XML document: (which element, counted over the whole tree and wrapped; what to do; a text).
XML_EDITS = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from(["text", "empty", "drop", "copy"]), st.text(max_size=8)),
    max_size=6,
)
#: An XML document's edits and, sometimes, where to cut its text short.
XML_MUTATIONS = st.tuples(XML_EDITS, st.none() | st.integers(0, 10_000))


def mutated(entry: dict, draw_values: dict) -> dict | object:
    """`entry` with the drawn fields replaced, or the drawn value itself when it is not a mapping."""
    return {**entry, **draw_values} if isinstance(draw_values, dict) else draw_values


def field_mutations(keys: list[str]):
    """Lists of mutations of an entry with these keys: some fields replaced by any JSON value, or any JSON value."""
    return st.lists(st.fixed_dictionaries({}, optional={k: JSON_VALUES for k in keys}) | JSON_VALUES, max_size=4)


def mutated_xml(base: str, mutation: tuple[list[tuple[int, str, str]], int | None]) -> str:
    """`base` with each edit applied (an element's text replaced or emptied, the element dropped or repeated), then
    cut short when asked."""
    edits, cut = mutation
    root = ET.fromstring(base)
    for position, action, value in edits:
        elements = list(root.iter())
        element = elements[position % len(elements)]
        parent = next((p for p in root.iter() if element in list(p)), None)
        if action == "text":
            element.text = value
        elif action == "empty":
            element.text = None
            element[:] = []
        elif parent is not None and action == "drop":
            parent.remove(element)
        elif parent is not None:
            parent.append(copy.deepcopy(element))
    text = ET.tostring(root, encoding="unicode")
    return text if cut is None else text[: cut % (len(text) + 1)]


def fuzz_read(
    reader: str,
    write: Callable[[Path, Any], Path],
    entries: Any,
    options: dict | Callable[[Path], dict] | None = None,
) -> ReadResult:
    """Write `entries` with `write(root, entries)` (beside a 64 x 48 `a.png`) and read them: nothing may raise, every
    skip names an existing file and gives a reason, and a strict conversion of the same source fails."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as out:
        root = Path(folder)
        Image.new("RGB", (64, 48)).save(root / "a.png")
        source = write(root, entries)
        given = options(root) if callable(options) else options or {}
        result = READERS[reader](source, **given)
        for skipped in result.skipped:
            assert Path(skipped.file).exists() and skipped.reason, skipped
            assert skipped.line is None or (isinstance(skipped.line, int) and skipped.line > 0), skipped
        if result.skipped:
            with pytest.raises(StrictModeError):
                convert(reader, source, Path(out) / "dataset", given, strict=True)
    return result
