"""Reading boxes from whatever a model wrote: the inverse of `box_text.format_objects`, tolerant by design.

Accepted: the plain and JSON forms of `box_text`, inside code fences or prose; JSON that is truncated, uses single
quotes or trailing commas, or nests the points as `[[x, y], ...]`; floats, negatives and values beyond the image.
Every box-like fragment ends up either in `objects` or in `dropped` with the reason (wrong count of numbers,
non-numeric or non-finite value, truncated object, missing or unknown label), so nothing is lost silently and nothing
is invented: each object comes from exactly one fragment. Labels are matched to the class list on their text form,
misspellings by `ClassMatcher` (one edit per 10 characters of the class name, so short names must be exact; each such
match is listed in `ParseResult.fuzzy`); without a class list the text form is kept as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rs_resolution import Convention, ImageFrame, from_model, hbb_to_poly, obb_to_poly

from rs_detect_eval.box_text import BOX_LENGTHS, BoxType
from rs_detect_eval.classes import ClassMatcher, normalize_class

NUMBER = r"[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][-+]?\d++)?"
# a run starts only where a number starts, which keeps scanning linear on long digit strings
_NUMBER_RUN = re.compile(rf"(?<![\d.]){NUMBER}(?:\s*,\s*{NUMBER})+")
# DOTA's label form, numbers apart by blanks (`660 369 673 369 ... small-vehicle`), read on lines without a comma run
_SPACED_NUMBER = r"[-+]?(?:\d++(?:\.\d++)?|\.\d++)(?:[eE][-+]?\d++)?"
_SPACED_RUN = re.compile(rf"(?<![\w.]){_SPACED_NUMBER}(?:[ \t]++{_SPACED_NUMBER})+")
_FENCE = re.compile(r"```[A-Za-z0-9_-]*")
_JSON_HINT = re.compile(r"""[{]\s*["']?(?:bbox_2d|quadrant[ _]bbox|oriented[ _]bbox|bbox|label)""", re.IGNORECASE)
_OBJECT = re.compile(r"\{[^{}]*(?:\}|(?=\{)|$)")  # an object ends at its brace, the next object, or the text's end
_BOX_FIELD = re.compile(
    r"""["']?(?:bbox_2d|quadrant[ _]bbox|oriented[ _]bbox|bbox|box|polygon|poly)["']?\s*:\s*"""
    r"""(\[(?:[^\[\]]|\[[^\[\]]*\])*\])?""",
    re.IGNORECASE,
)
_LABEL_FIELD = re.compile(r"""["']?label["']?\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')""", re.IGNORECASE)
_NONE_ANSWER = re.compile(r"\bthere (?:are|is) (?:none|no\b)", re.IGNORECASE)
_LABEL_EDGES = " \t\"'`*:;,.-()[]{}<>|"


@dataclass
class ParsedObject:
    """One box read from an answer: its class (or the text form of its label) and polygon (8,) in original pixels."""

    label: str
    polygon: np.ndarray


@dataclass
class Dropped:
    """A box-like fragment that was not kept, with the reason."""

    fragment: str
    reason: str


@dataclass
class ParseResult:
    """Boxes read from one answer, the fragments dropped, and whether the answer said there is nothing."""

    objects: list[ParsedObject] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    empty_answer: bool = False
    fuzzy: list[tuple[str, str]] = field(default_factory=list)  # (label as written, class it was read as)


@dataclass
class _Reader:
    box_type: BoxType
    frame: ImageFrame
    convention: Convention
    matcher: ClassMatcher | None
    result: ParseResult = field(default_factory=ParseResult)

    def drop(self, fragment: str, reason: str) -> None:
        self.result.dropped.append(Dropped(fragment.strip()[:200], reason))

    def add(self, fragment: str, tokens: Sequence[str], raw_label: str | None) -> None:
        """Validate one fragment's numbers and label, map it to original pixels and keep it, or drop it."""
        expected = BOX_LENGTHS[self.box_type]
        if len(tokens) != expected:
            self.drop(fragment, f"expected {expected} numbers for a {self.box_type} box, got {len(tokens)}")
            return
        try:
            values = np.array([float(t) for t in tokens], dtype=np.float64)
        except ValueError:
            self.drop(fragment, "non-numeric box value")
            return
        if not np.isfinite(values).all():
            self.drop(fragment, "non-finite box value")
            return
        label = self.label(fragment, raw_label)
        if label is None:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            polygon = self.to_polygon(values)
        if not np.isfinite(polygon).all():
            self.drop(fragment, "box value out of range")
            return
        self.result.objects.append(ParsedObject(label, polygon))

    def label(self, fragment: str, raw_label: str | None) -> str | None:
        text = (raw_label or "").strip(_LABEL_EDGES)
        if self.matcher is None:
            return normalize_class(text)
        if not text:
            self.drop(fragment, "missing label")
            return None
        matched = self.matcher.match(text)
        if matched is None:
            self.drop(fragment, f"unknown label {text!r}")
        elif normalize_class(text) in self.matcher.fuzzy:
            self.result.fuzzy.append((text, matched))
        return matched

    def to_polygon(self, values: np.ndarray) -> np.ndarray:
        if self.box_type == "hbb":
            corners = np.sort(values.reshape(2, 2), axis=0)  # a model may write the corners in either order
            return hbb_to_poly(from_model(corners, self.frame, self.convention).reshape(4))
        if self.box_type == "obb":
            model_polygon = obb_to_poly(values).reshape(4, 2)
            return from_model(model_polygon, self.frame, self.convention).reshape(8)
        return from_model(values.reshape(4, 2), self.frame, self.convention).reshape(8)


def _split_numbers(array_text: str) -> list[str]:
    tokens = [t.strip() for t in array_text.replace("[", " ").replace("]", " ").split(",")]
    while tokens and not tokens[-1]:
        tokens.pop()  # a trailing comma
    return tokens


def _read_json(reader: _Reader, text: str) -> None:
    for match in _OBJECT.finditer(text):
        fragment = match.group(0)
        box = _BOX_FIELD.search(fragment)
        if box is None:
            if fragment.endswith("}"):
                reader.drop(fragment, "object without a box field")
            else:
                reader.drop(fragment, "truncated object")
            continue
        if box.group(1) is None:
            reader.drop(fragment, "truncated or malformed box list")
            continue
        label_match = _LABEL_FIELD.search(fragment)
        raw_label = None
        if label_match is not None:
            raw_label = label_match.group(2) if label_match.group(1) is None else _unescape(label_match.group(1))
        elif not fragment.endswith("}") and re.search(r"label", fragment, re.IGNORECASE):
            reader.drop(fragment, "truncated label")
            continue
        reader.add(fragment, _split_numbers(box.group(1)[1:-1]), raw_label)


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text


def _read_plain(reader: _Reader, text: str) -> None:
    for line in text.splitlines():
        runs = list(_NUMBER_RUN.finditer(line)) or list(_SPACED_RUN.finditer(line))
        for index, run in enumerate(runs):
            end = runs[index + 1].start() if index + 1 < len(runs) else len(line)
            fragment = line[run.start() : end]
            reader.add(fragment, run.group(0).replace(",", " ").split(), line[run.end() : end])


def parse_objects(
    text: str,
    box_type: BoxType,
    frame: ImageFrame,
    convention: Convention,
    classes: list[str] | None = None,
    style: Literal["auto", "plain", "json"] = "auto",
) -> ParseResult:
    """Boxes in an answer as polygons in original pixels, with a report of what was dropped and why."""
    if box_type not in BOX_LENGTHS:
        raise ValueError(f"unknown box type {box_type!r}: use 'hbb', 'obb' or 'poly'")
    if style not in ("auto", "plain", "json"):
        raise ValueError(f"unknown text style {style!r}: use 'auto', 'plain' or 'json'")
    reader = _Reader(box_type, frame, convention, ClassMatcher(classes) if classes is not None else None)
    if not isinstance(text, str):
        reader.drop(repr(text), "answer is not text")
        return reader.result
    body = _FENCE.sub("\n", text)
    if style == "json" or (style == "auto" and _JSON_HINT.search(body)):
        _read_json(reader, body)
    else:
        _read_plain(reader, body)
    reader.result.empty_answer = (
        not reader.result.objects and not reader.result.dropped and bool(_NONE_ANSWER.search(body))
    )
    return reader.result
