"""Offline conversion: read a public format, optionally split large detection images into patches, and write a
dataset directory: `records.jsonl`, `manifest.json` (counts per task and class, image sizes, skipped records by
reason) and `skipped.jsonl` (every skipped record with file, line and reason)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rs_data.parallel import parallel_map
from rs_data.readers import READERS, ReadResult
from rs_data.schema import Record, Skipped, write_records
from rs_data.split import SplitConfig, split_record

RECORDS_FILE = "records.jsonl"
MANIFEST_FILE = "manifest.json"
SKIPPED_FILE = "skipped.jsonl"


class StrictModeError(ValueError):
    """Raised under `strict=True` when any record had to be skipped."""


_LOCATION = re.compile(r"^(?:object|entry|annotation|question|QA pair|image) \S+(?: \([^)]*\))?: ")


def reason_kind(reason: str) -> str:
    """A reason without its specifics (where, numbers, quoted names, paths), to count skips by kind."""
    core = re.split(r": |\(", _LOCATION.sub("", reason))[0].strip()
    core = re.sub(r"'[^']*'|\"[^\"]*\"|\S*/\S*", "…", core)
    return re.sub(r"\d+(?:\.\d+)?", "N", core)


def _size_stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 2)}


def summarize(records: list[Record], skipped: list[Skipped]) -> dict[str, Any]:
    """Counts per task, dataset and class, image-size statistics and skipped records grouped by reason."""
    classes: Counter[str] = Counter()
    for record in records:
        ann = record.annotation
        if ann is not None and ann.kind == "detection":
            classes.update(o.label for o in ann.objects)
        elif ann is not None and ann.kind == "classification":
            classes[ann.label] += 1
    images = {(i.path, i.width, i.height) for r in records for i in r.images}
    return {
        "records": len(records),
        "tasks": dict(Counter(r.task for r in records)),
        "datasets": dict(Counter(r.dataset for r in records)),
        "classes": dict(sorted(classes.items())),
        "images": {
            "count": len(images),
            "width": _size_stats([w for _, w, _ in images]),
            "height": _size_stats([h for _, _, h in images]),
        },
        "skipped": {"count": len(skipped), "by_reason": dict(Counter(reason_kind(s.reason) for s in skipped))},
    }


def convert(
    format: str,
    src: str | Path,
    out_dir: str | Path,
    options: dict[str, Any] | None = None,
    split: SplitConfig | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Convert `src` in `format` into a dataset directory; returns the manifest that was written."""
    if format not in READERS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(sorted(READERS))}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = READERS[format].read(src, workers=workers, progress=progress, **(options or {}))
    if split is not None:
        result = _split(result, split, out_dir / "patches", workers, progress)
    if strict and result.skipped:
        shown = "\n".join(str(s) for s in result.skipped[:20])
        raise StrictModeError(f"{len(result.skipped)} records skipped (strict mode):\n{shown}")
    write_records(out_dir / RECORDS_FILE, result.records)
    with (out_dir / SKIPPED_FILE).open("w", encoding="utf-8") as handle:
        for skipped in result.skipped:
            handle.write(json.dumps(asdict(skipped), ensure_ascii=False) + "\n")
    manifest = {
        "format": format,
        "source": str(src),
        "options": {k: str(v) for k, v in (options or {}).items()},
        "split": split.model_dump() if split is not None else None,
        **summarize(result.records, result.skipped),
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _split(result: ReadResult, config: SplitConfig, patch_dir: Path, workers: int, progress: bool) -> ReadResult:
    patch_dir.mkdir(parents=True, exist_ok=True)
    split = ReadResult(skipped=list(result.skipped))
    detections = [r for r in result.records if r.task == "detection"]
    split.records.extend(r for r in result.records if r.task != "detection")
    for part in parallel_map(
        split_record, detections, config, patch_dir, workers=workers, desc="splitting", progress=progress
    ):
        split.extend(part)
    return split
