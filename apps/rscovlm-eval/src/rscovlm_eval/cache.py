"""The prediction cache: one JSONL line per sample, flushed as it is written, one file per shard.

An interrupted run leaves at most one torn last line; reopening the cache cuts it off, so a rerun recomputes only
the samples without a complete line and never duplicates one. Shards (`rank`/`world_size`) write their own files
and `merge_shards` joins them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO


class CacheError(ValueError):
    """A cache file is unusable; the message names the file and line."""


def shard_path(folder: Path, rank: int, world_size: int) -> Path:
    return folder / f"predictions.rank{rank}-of-{world_size}.jsonl"


def _read_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Complete entries of a cache file and the byte length of its complete part."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # a torn last line (no newline) is not part of the cache
    entries = []
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise CacheError(f"{path}:{number}: not a JSON line ({error.msg})") from error
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise CacheError(f"{path}:{number}: a cache entry is an object with a string `id`")
        entries.append(entry)
    return entries, end


class PredictionCache:
    """Append-only JSONL of predictions for one benchmark shard."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self._file: TextIO | None = None
        if path.exists():
            entries, end = _read_lines(path)
            for entry in entries:
                self.entries.setdefault(entry["id"], entry)
            if end < path.stat().st_size:
                with path.open("r+b") as handle:
                    handle.truncate(end)

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: dict[str, Any]) -> None:
        """Write one entry and flush it; an id already present is an error (it would be a duplicate)."""
        if entry["id"] in self.entries:
            raise CacheError(f"{self.path}: sample {entry['id']!r} is already cached")
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        self.entries[entry["id"]] = entry

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PredictionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def merge_shards(folder: Path, expected_ids: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of every shard file in `folder`, in the order of `expected_ids`, and the ids still missing.

    An id found in more than one shard is kept once (the first file in name order).
    """
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("predictions.rank*-of-*.jsonl")):
        for entry in _read_lines(path)[0]:
            found.setdefault(entry["id"], entry)
    entries, missing = [], []
    for sample_id in expected_ids:
        if sample_id in found:
            entries.append(found[sample_id])
        else:
            missing.append(sample_id)
    return entries, missing
