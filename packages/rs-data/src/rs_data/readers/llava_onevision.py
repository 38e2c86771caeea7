"""LLaVA-OneVision data as upstream RSCoVLM loads it: a Hugging Face `datasets` folder written by `save_to_disk`.

Each row has `conversations` (LLaVA turns `{"from", "value"}`), an `image` column (a `datasets.Image`, empty for
text-only rows) and usually `id` and `data_source`. Rows are read with `datasets.load_from_disk`; each image is
written, bytes unchanged, to `images_out` (default: a `<folder>-images` folder beside the dataset) so records can
name it, and the conversation is mapped as the `llava` reader maps it (`<image>` opens the first human turn when
absent). Needs the `hf` extra (`datasets`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from rs_data.readers import llava
from rs_data.readers._common import ImageIndex, Reader, ReadResult
from rs_data.schema import Skipped

CHUNK = 1000
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}


@dataclass(frozen=True)
class OneVisionContext:
    folder: str
    images_out: str
    image_column: str
    conversation: llava.LlavaContext


@lru_cache(maxsize=2)
def _load(folder: str, image_column: str) -> Any:
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ImportError("reading `datasets` folders needs the `hf` extra: pip install 'rs-data[hf]'") from error
    try:
        data = datasets.load_from_disk(folder)
    except FileNotFoundError as error:
        raise ValueError(f"{folder}: not a folder written by `save_to_disk` ({error})") from error
    if isinstance(data, datasets.DatasetDict):
        raise ValueError(f"{folder}: holds the splits {sorted(data)}; give the folder of one split")
    if "conversations" not in data.column_names:
        raise ValueError(f"{folder}: no 'conversations' column (columns: {data.column_names})")
    if image_column in data.column_names and isinstance(data.features[image_column], datasets.Image):
        data = data.cast_column(image_column, datasets.Image(decode=False))
    return data


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


def _write_image(value: Any, out: Path, index: int) -> Path:
    """Write an image cell (encoded bytes) to `out`; raises ValueError when it is not a readable image."""
    data = value.get("bytes") if isinstance(value, dict) else None
    if not data:
        raise ValueError("image cell has no bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            suffix = EXTENSIONS.get(image.format or "", ".png")
            image.verify()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image cell is not a readable image: {error}") from error
    path = out / f"{index:09d}{suffix}"
    if not path.is_file() or path.stat().st_size != len(data):
        path.write_bytes(data)
    return path


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
                entry["image"] = str(_write_image(cell, out, index).resolve())
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
