"""GeoChat-Bench's free-text files, region captioning (`region_captioning.jsonl`) and grounding description
(`grounding_description.jsonl`), as upstream RSCoVLM reads them: one JSON object a line with `question_id`,
`image_id` (the image's file name; found by its stem when the extension differs), `question` (for region
captioning the region, a GeoChat box `{<x1><y1><x2><y2>|<θ>}`) and `ground_truth` (a text or a list of texts).

Each line is a VQA record (the benchmark's template words the question); the reference texts are the answer and
`meta["references"]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rs_data.readers._common import ImageIndex, Reader, ReadResult, image_ref
from rs_data.schema import Record, Skipped, VQAAnnotation


@dataclass(frozen=True)
class GeoChatTextContext:
    dataset: str
    source: str
    images: ImageIndex


def prepare(
    src: Path, images: str | Path | None = None, dataset: str = "geochat-bench"
) -> tuple[GeoChatTextContext, list[tuple[int, str]]]:
    """`src` is the JSONL; images under `images` (default: the file's folder)."""
    lines = [(n, line) for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    return GeoChatTextContext(dataset, str(src), ImageIndex(Path(images) if images else src.parent)), lines


def _references(ground_truth: Any) -> list[str]:
    texts = ground_truth if isinstance(ground_truth, list) else [ground_truth]
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError("`ground_truth` must be a text or a list of texts")
    return [t.strip() for t in texts]


def read_unit(context: GeoChatTextContext, unit: tuple[int, str]) -> ReadResult:
    line, text = unit
    result = ReadResult()
    try:
        row = json.loads(text)
        qid, name, question = str(row["question_id"]), str(row["image_id"]), str(row["question"])
        references = _references(row["ground_truth"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(context.source, line, f"malformed line: {error!r}"))
        return result
    image = image_ref(context.images.find(name), context.source, line, result.skipped, name=name)
    if image is not None:
        result.records.append(
            Record(
                id=qid,
                dataset=context.dataset,
                task="vqa",
                images=[image],
                annotation=VQAAnnotation(question=question, answer=references[0], question_type=row.get("type")),
                meta={"references": references},
            )
        )
    return result


READER = Reader("geochat-text", "GeoChat-Bench region captioning / grounding description JSONL", prepare, read_unit)
