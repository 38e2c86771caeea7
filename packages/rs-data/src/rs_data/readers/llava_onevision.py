"""LLaVA-OneVision data as upstream RSCoVLM loads it: a Hugging Face `datasets` folder written by `save_to_disk`.

Each row has `conversations` (LLaVA turns `{"from", "value"}`), an `image` column (a `datasets.Image`, empty for
text-only rows) and usually `id` and `data_source`. Rows are read with `datasets.load_from_disk`; each image is
written, bytes unchanged, to `images_out` (default: a `<folder>-images` folder beside the dataset) so records can
name it, and the conversation is mapped as the `llava` reader maps it (`<image>` opens the first human turn when
absent). Needs the `hf` extra (`datasets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rs_data.readers import llava
from rs_data.readers._common import ImageIndex, Reader, ReadResult
from rs_data.readers.hf_folders import load_folder, write_image_cell
from rs_data.schema import Skipped

CHUNK = 1000


@dataclass(frozen=True)
class OneVisionContext:
    folder: str
    images_out: str
    image_column: str
    conversation: llava.LlavaContext


@lru_cache(maxsize=2)
def _load(folder: str, image_column: str) -> Any:
    return load_folder(folder, ("conversations",), image_column)


def prepare(
    src: Path,
    images_out: str | Path | None = None,
    image_column: str = "image",
    dataset: str = "llava-onevision",
    split: str | None = None,
) -> tuple[OneVisionContext, list[range]]:
    """`src` is the dataset folder; images are written under `images_out`."""
    out = Path(images_out) if images_out else src.parent / f"{src.name}-images"
    rows = len(_load(str(src), image_column))
    conversation = llava.LlavaContext(dataset, str(src), ImageIndex(out), split)
    context = OneVisionContext(str(src), str(out), image_column, conversation)
    return context, [range(start, min(start + CHUNK, rows)) for start in range(0, rows, CHUNK)]


def read_unit(context: OneVisionContext, rows: range) -> ReadResult:
    data = _load(context.folder, context.image_column)
    out = Path(context.images_out)
    out.mkdir(parents=True, exist_ok=True)
    result = ReadResult()
    for index in rows:
        row = data[index]
        entry = {"id": row.get("id", index), "conversations": row["conversations"]}
        cell = row.get(context.image_column)
        if cell is not None:
            try:
                entry["image"] = str(write_image_cell(cell, out / f"{index:09d}").resolve())
            except ValueError as error:
                result.skipped.append(Skipped(context.folder, None, f"entry {index}: {error}"))
                continue
        part = llava.read_unit(context.conversation, (index, entry))
        for record in part.records:
            if row.get("data_source"):
                record.meta["data_source"] = row["data_source"]
        result.extend(part)
    return result


READER = Reader(
    "llava-onevision",
    "LLaVA-OneVision data saved with `datasets` save_to_disk (needs the `hf` extra)",
    prepare,
    read_unit,
)
