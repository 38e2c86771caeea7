"""Hugging Face `datasets` folders written by `save_to_disk` (the `hf` extra): loading one split with its image
column left encoded, and writing an image cell's bytes unchanged to a file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}


def load_folder(folder: str, columns: tuple[str, ...], image_column: str, split: str | None = None) -> Any:
    """The rows of a `save_to_disk` folder (of a `DatasetDict`, its `split`), with `image_column` (an image or a
    list of images) as encoded bytes; raises ValueError naming the folder when it is not one or lacks `columns`."""
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ImportError("reading `datasets` folders needs the `hf` extra: pip install 'rs-data[hf]'") from error
    try:
        data = datasets.load_from_disk(folder)
    except FileNotFoundError as error:
        raise ValueError(f"{folder}: not a folder written by `save_to_disk` ({error})") from error
    if isinstance(data, datasets.DatasetDict):
        if split is None or split not in data:
            raise ValueError(f"{folder}: holds the splits {sorted(data)}; give the folder of one split")
        data = data[split]
    missing = [c for c in columns if c not in data.column_names]
    if missing:
        raise ValueError(f"{folder}: no {missing} column (columns: {data.column_names})")
    feature = data.features.get(image_column)
    if isinstance(feature, datasets.Image):
        data = data.cast_column(image_column, datasets.Image(decode=False))
    elif isinstance(feature, datasets.List | datasets.Sequence) and isinstance(feature.feature, datasets.Image):
        data = data.cast_column(image_column, datasets.List(datasets.Image(decode=False)))
    return data


def write_image_cell(value: Any, stem: Path) -> Path:
    """Write an image cell (encoded bytes) to `stem` plus the suffix of its format, bytes unchanged (kept when the
    file is already there); raises ValueError when it is not a readable image."""
    data = value.get("bytes") if isinstance(value, dict) else None
    if not data:
        raise ValueError("image cell has no bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            suffix = EXTENSIONS.get(image.format or "", ".png")
            image.verify()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image cell is not a readable image: {error}") from error
    path = stem.with_name(stem.name + suffix)
    if not path.is_file() or path.stat().st_size != len(data):
        path.write_bytes(data)
    return path
