"""Offline conversion: read a public format, optionally split large detection images into patches, and write a
dataset directory: `records.jsonl`, `manifest.json` (counts per task and class, image sizes, skipped records by
reason, and the record count and SHA-256 of `records.jsonl`), `skipped.jsonl` (every skipped record with file, line
and reason) and `patches/` when splitting.

Everything is written into a staging folder inside the output directory and moved into place only when complete,
`records.jsonl` last; a conversion that stops early leaves the previous dataset, or a manifest that does not match the
records file, which every read path refuses (`rs_data.integrity`). A conversion killed outright leaves its
`.staging-*` folder behind; it is never read, `rs-data stats` mentions it, and the next conversion into the same
directory removes it once no live process owns it (`rs_data.staging`)."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rs_data.integrity import MANIFEST_FILE, records_digest
from rs_data.parallel import parallel_map
from rs_data.readers import READERS, ReadResult
from rs_data.readers._common import read_unit_guarded
from rs_data.schema import Record, Skipped, write_records
from rs_data.split import SplitConfig, split_record
from rs_data.staging import create_staging, remove_stale

log = logging.getLogger(__name__)

RECORDS_FILE = "records.jsonl"
SKIPPED_FILE = "skipped.jsonl"
PATCH_DIR = "patches"
#: What a conversion writes, in the order it is moved into place: the new manifest first (from then on an earlier
#: records file no longer matches it and is refused), the records file last.
OUTPUTS = (MANIFEST_FILE, PATCH_DIR, SKIPPED_FILE, RECORDS_FILE)


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


def check_output_is_not_source(src: str | Path, out_dir: str | Path) -> None:
    """Refuse an output directory that is the source folder or inside it, or whose outputs include the source file."""
    source, out = Path(src).resolve(), Path(out_dir).resolve()
    if source.is_dir() and out.is_relative_to(source):
        raise ValueError(f"--out {out_dir} is the source folder {src} or inside it; write the dataset elsewhere")
    if any(source == out / name or source.is_relative_to(out / name) for name in OUTPUTS):
        raise ValueError(f"--out {out_dir} would overwrite the source {src}; write the dataset elsewhere")


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the staged outputs into `out_dir` in the order of `OUTPUTS` (an earlier `patches/` is moved out first)."""
    for name in OUTPUTS:
        target = out_dir / name
        if name == PATCH_DIR and target.exists():
            target.rename(staging / "previous-patches")
        if (staging / name).exists():
            (staging / name).replace(target)


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
    check_output_is_not_source(src, out_dir)
    reader = READERS[format]
    context, units = reader.units(src, **(options or {}))
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale(out_dir):
        log.warning("removed %s (%s), left by a conversion that stopped", stale.path.name, stale.owner)
    staging = create_staging(out_dir)
    try:
        if split is None:
            result = reader.read_units(context, units, workers, progress)
        else:
            result = _read_and_split(reader.read_unit, context, units, split, staging / PATCH_DIR, workers, progress)
        if strict and result.skipped:
            shown = "\n".join(str(s) for s in result.skipped[:20])
            raise StrictModeError(f"{len(result.skipped)} records skipped (strict mode):\n{shown}")
        write_records(staging / RECORDS_FILE, result.records)
        with (staging / SKIPPED_FILE).open("w", encoding="utf-8") as handle:
            for skipped in result.skipped:
                handle.write(json.dumps(asdict(skipped), ensure_ascii=False) + "\n")
        manifest = {
            "format": format,
            "source": str(src),
            "options": {k: str(v) for k, v in (options or {}).items()},
            "split": split.model_dump() if split is not None else None,
            **summarize(result.records, result.skipped),
            "records_file": records_digest(staging / RECORDS_FILE),
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _read_and_split(
    read_unit, context: Any, units: list[Any], config: SplitConfig, patch_dir: Path, workers: int, progress: bool
) -> ReadResult:
    """Read each unit and cut its detection records into patches in the same process (one unit at a time per
    worker); the records other than detections first, then the patches, then the skips of reading and of splitting,
    each in unit order."""
    patch_dir.mkdir(parents=True, exist_ok=True)
    read, cut = ReadResult(), ReadResult()
    parts = parallel_map(
        read_and_split_unit,
        units,
        read_unit,
        context,
        config,
        patch_dir,
        workers=workers,
        desc="reading and splitting",
        progress=progress,
        chunksize=1,
    )
    for read_part, cut_part in parts:
        read.extend(read_part)
        cut.extend(cut_part)
    return ReadResult(read.records + cut.records, read.skipped + cut.skipped)


def read_and_split_unit(
    read_unit, context: Any, config: SplitConfig, patch_dir: Path, unit: Any
) -> tuple[ReadResult, ReadResult]:
    """(the unit's records other than detections with its reading skips, the patches of its detection records with
    their skips), the patch images written under `patch_dir`."""
    part = read_unit_guarded(read_unit, context, unit)
    cut = ReadResult()
    for record in part.records:
        if record.task == "detection":
            cut.extend(split_record(config, patch_dir, record))
    return ReadResult([r for r in part.records if r.task != "detection"], part.skipped), cut
