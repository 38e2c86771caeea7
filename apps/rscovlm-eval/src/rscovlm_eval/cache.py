"""The prediction cache: one JSONL line per sample, flushed as it is written, one file per shard.

An interrupted run leaves at most one torn last line; reopening the cache cuts it off, so a rerun recomputes only
the samples without a complete line and never duplicates one. A sample cached with an `error` may be predicted
again: its new line replaces the errored one (the file keeps both; readers keep the answer). A damaged line in the
middle of a file stops every reader with its file and line; `repair_run` (`rscovlm-eval report --repair`) drops such
lines. Shards (`rank`/`world_size`) write their own files and `merge_shards` joins them; each shard file is written
under a `ShardLock`, so two runs never predict the same shard at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from rscovlm_eval.locking import LockedError, ShardLock, lock_holder

__all__ = [
    "CacheError",
    "LockedError",
    "PredictionCache",
    "ShardLock",
    "lock_path",
    "merge_shards",
    "repair_run",
    "shard_path",
]

SHARD_GLOB = "predictions.rank*-of-*.jsonl"


class CacheError(ValueError):
    """A cache file is unusable; the message names the file and line."""


def shard_path(folder: Path, rank: int, world_size: int) -> Path:
    return folder / f"predictions.rank{rank}-of-{world_size}.jsonl"


def lock_path(folder: Path, rank: int, world_size: int) -> Path:
    return shard_path(folder, rank, world_size).with_suffix(".lock")


def _parse(line: bytes) -> dict[str, Any]:
    """One cache line as an entry; ValueError with the reason when it is not one."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON line ({error.msg})") from error
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ValueError("a cache entry is an object with a string `id`")
    return entry


def _read_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Complete entries of a cache file and the byte length of its complete part."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # a torn last line (no newline) is not part of the cache
    entries = []
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_parse(line))
        except ValueError as error:
            raise CacheError(
                f"{path}:{number}: {error}; `rscovlm-eval report {path.parent.parent} --repair` drops such lines"
            ) from error
    return entries, end


def _keep(entries: dict[str, dict[str, Any]], entry: dict[str, Any]) -> None:
    """Add `entry`: it replaces an earlier entry of its id only when that one holds an error."""
    earlier = entries.get(entry["id"])
    if earlier is None or "error" in earlier:
        entries[entry["id"]] = entry


class PredictionCache:
    """Append-only JSONL of predictions for one benchmark shard."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self._file: TextIO | None = None
        if path.exists():
            entries, end = _read_lines(path)
            for entry in entries:
                _keep(self.entries, entry)
            if end < path.stat().st_size:
                with path.open("r+b") as handle:
                    handle.truncate(end)

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def answered(self, sample_id: str) -> bool:
        """Whether the sample has a prediction without an error."""
        return sample_id in self.entries and "error" not in self.entries[sample_id]

    def add(self, entry: dict[str, Any]) -> None:
        """Write one entry and flush it; an id already answered is an error (it would be a duplicate)."""
        if self.answered(entry["id"]):
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

    An id found in more than one shard is kept once: the first answer in file-name order, an error only when no
    file has an answer.
    """
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob(SHARD_GLOB)):
        for entry in _read_lines(path)[0]:
            _keep(found, entry)
    entries, missing = [], []
    for sample_id in expected_ids:
        if sample_id in found:
            entries.append(found[sample_id])
        else:
            missing.append(sample_id)
    return entries, missing


def repair_run(run_dir: Path) -> list[str]:
    """Drop the damaged lines of every cache file of a run folder (and a torn last line); return what was dropped,
    as `file:line: reason`. A shard that a live run holds locked is left alone (LockedError)."""
    dropped = []
    for path in sorted(run_dir.glob(f"*/{SHARD_GLOB}")):
        data = path.read_bytes()
        kept, problems = [], []
        for number, line in enumerate(data.splitlines(keepends=True), start=1):
            if not line.strip():
                continue
            try:
                _parse(line)
            except ValueError as error:
                problems.append(f"{path}:{number}: {error}")
                continue
            if not line.endswith(b"\n"):
                problems.append(f"{path}:{number}: torn last line")
                continue
            kept.append(line)
        if not problems:
            continue
        holder = lock_holder(path.with_suffix(".lock"))
        if holder is not None:
            raise LockedError(f"{path} is being written by {holder}; repair it after that run ends")
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(b"".join(kept))
        partial.replace(path)
        dropped += problems
    return dropped
