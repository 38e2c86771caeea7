"""Benchmarks shipped as a folder of JSON lists, one file per suite (VHM-Eval, TEOChatlas' evaluation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rs_data.readers._common import ReadResult, image_ref, load_json
from rs_data.schema import Record, VQAAnnotation


def json_list_units(src: Path, files: list[str] | None) -> tuple[Path, list[tuple[Path, int, Any]]]:
    """The folder the files lie in and every (file, index, item) of the named files (`src` a folder), or of `src`
    itself (a file); raises ValueError when no file is named or a file is not a JSON list."""
    root = src if src.is_dir() else src.parent
    paths = [root / name for name in files] if files else ([] if src.is_dir() else [src])
    if not paths:
        raise ValueError(f"{src}: name the files to read (`files`)")
    units = []
    for path in paths:
        items = load_json(path)
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a JSON list of items")
        units += [(path, index, item) for index, item in enumerate(items)]
    return root, units


@dataclass(frozen=True)
class JsonListContext:
    """The records' data set name and the image folder of one read."""

    dataset: str
    images: Path


def prepare_json_lists(
    src: Path, files: list[str] | None, images: str | Path | None, dataset: str
) -> tuple[JsonListContext, list[tuple[Path, int, Any]]]:
    """The context and units of a read: images under `images`, by default the folder of the files."""
    root, units = json_list_units(src, files)
    return JsonListContext(dataset, Path(images) if images else root), units


def add_vqa_record(
    result: ReadResult,
    context: JsonListContext,
    unit: tuple[Path, int, Any],
    image_name: str,
    question: str,
    answer: str,
    question_type: str,
    meta: dict[str, Any] | None = None,
) -> None:
    """Add the VQA record of one list item (id `<file stem>_<index>`), or its counted skip when the image is missing."""
    path, index, _ = unit
    image = image_ref(context.images / image_name, str(path), None, result.skipped, name=image_name)
    if image is not None:
        result.records.append(
            Record(
                id=f"{path.stem}_{index}",
                dataset=context.dataset,
                task="vqa",
                images=[image],
                annotation=VQAAnnotation(question=question, answer=answer, question_type=question_type),
                meta=meta or {},
            )
        )
