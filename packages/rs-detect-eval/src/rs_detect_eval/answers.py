"""Model answers in JSONL, one image a line, read into detections through `parse_objects`.

Each line: `{"image_id": str, "answer": str, "width": int, "height": int, "resized_width": int, "resized_height": int}`
(the original size and the size the model saw; for the 0-1000 convention the resized size only matters for writing).
Optional per line: `"box_type"` and `"convention"` override the reader's defaults. Boxes get score 1.

An image answered on two lines raises DuplicateAnswerError (both lines named), and a line longer than
`max_line_chars` raises AnswerTooLongError before it is parsed, so a runaway generation cannot exhaust memory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from rs_resolution import Convention, ImageFrame

from rs_detect_eval.answer_parsing import parse_objects
from rs_detect_eval.box_text import BoxType
from rs_detect_eval.records import ImageDet

#: Default cap on the length of one JSONL line of answers (a VLM answer for one image is far shorter).
MAX_LINE_CHARS = 1_000_000


class DuplicateAnswerError(ValueError):
    """One image answered on two lines of an answers file; names both."""


class AnswerTooLongError(ValueError):
    """A line of an answers file above the length cap; names the line."""


@dataclass
class AnswerReport:
    """What reading a file of answers kept and what it left out, with reasons."""

    answers: int = 0
    objects: int = 0
    empty_answers: int = 0
    dropped: Counter = field(default_factory=Counter)
    bad_lines: list[str] = field(default_factory=list)
    fuzzy_labels: Counter = field(default_factory=Counter)  # "label as written -> class": objects read so

    def to_dict(self) -> dict:
        return {
            "answers": self.answers,
            "objects": self.objects,
            "empty_answers": self.empty_answers,
            "dropped": dict(self.dropped),
            "bad_lines": list(self.bad_lines),
            "fuzzy_labels": dict(self.fuzzy_labels),
        }


def _frame(row: dict) -> ImageFrame:
    width, height = row["width"], row["height"]
    return ImageFrame(
        width=width,
        height=height,
        resized_width=row.get("resized_width", width),
        resized_height=row.get("resized_height", height),
    )


def read_answers(
    path: str | Path,
    classes: Sequence[str],
    box_type: BoxType = "poly",
    convention: Convention = "absolute",
    max_line_chars: int = MAX_LINE_CHARS,
) -> tuple[list[ImageDet], AnswerReport]:
    """Detections parsed from every answer of a JSONL file; malformed lines are skipped and reported by number."""
    path = Path(path)
    report = AnswerReport()
    dets = []
    first_line: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(_lines(handle, path, max_line_chars), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                image_id, answer, frame = str(row["image_id"]), row["answer"], _frame(row)
            except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
                report.bad_lines.append(f"{path}:{number}: {type(error).__name__}: {str(error).splitlines()[0]}")
                continue
            if image_id in first_line:
                raise DuplicateAnswerError(
                    f"{path}:{first_line[image_id]} and {path}:{number}: image {image_id!r} answered twice"
                )
            first_line[image_id] = number
            parsed = parse_objects(
                answer, row.get("box_type", box_type), frame, row.get("convention", convention), list(classes)
            )
            report.answers += 1
            report.objects += len(parsed.objects)
            report.empty_answers += parsed.empty_answer
            report.dropped.update(d.reason.split(" '")[0] for d in parsed.dropped)
            report.fuzzy_labels.update(f"{text} -> {name}" for text, name in parsed.fuzzy)
            polygons = [o.polygon for o in parsed.objects]
            dets.append(ImageDet(image_id, polygons, [o.label for o in parsed.objects]))
    return dets, report


def _lines(handle: TextIO, path: Path, max_line_chars: int) -> Iterator[str]:
    """The lines of a text file, read at most `max_line_chars` characters at a time, longer lines refused."""
    number = 0
    while True:
        line = handle.readline(max_line_chars + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line_chars and not line.endswith("\n"):
            raise AnswerTooLongError(f"{path}:{number}: line longer than {max_line_chars} characters (raise the cap)")
        yield line
