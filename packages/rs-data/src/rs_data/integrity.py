"""Whole or refused: a converted dataset's manifest records how many records its records file holds and the file's
SHA-256, and every read path checks the file against it, so a file cut short (a conversion killed mid-write, a copy
that stopped) or changed afterwards is refused instead of used in part.

A records file is checked when a `manifest.json` beside it names it under `records_file`; records files written by
other tools (no such manifest) are read as they are.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


class IncompleteDatasetError(ValueError):
    """A records file does not match what its manifest says was written (count or checksum)."""


def scan_records_file(path: str | Path) -> tuple[list[int], dict[str, Any]]:
    """The byte offsets of a records file's non-blank lines, and its digest `{"name", "count", "sha256"}`."""
    path = Path(path)
    digest, offsets, position = hashlib.sha256(), [], 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            if line.strip():
                offsets.append(position)
            position += len(line)
    return offsets, {"name": path.name, "count": len(offsets), "sha256": digest.hexdigest()}


def records_digest(path: str | Path) -> dict[str, Any]:
    """`{"name", "count", "sha256"}` of a records file: its name, non-blank lines and the SHA-256 of its bytes."""
    return scan_records_file(path)[1]


def expected_digest(path: str | Path) -> dict[str, Any] | None:
    """What the manifest beside `path` says the records file holds, or None when no manifest describes it."""
    path = Path(path)
    manifest_path = path.parent / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IncompleteDatasetError(f"{manifest_path}: unreadable manifest ({error})") from error
    written = manifest.get("records_file") if isinstance(manifest, dict) else None
    if not isinstance(written, dict) or written.get("name") != path.name:
        return None
    return written


def check_digest(path: str | Path, expected: dict[str, Any] | None, actual: dict[str, Any]) -> None:
    """Raise `IncompleteDatasetError` when `actual` (a `records_digest`) differs from the manifest's `expected`."""
    if expected is None:
        return
    if actual["count"] != expected.get("count"):
        raise IncompleteDatasetError(
            f"{path}: holds {actual['count']} records but its {MANIFEST_FILE} says {expected.get('count')} were "
            "written; the conversion did not finish or the file was changed. Convert it again."
        )
    if actual["sha256"] != expected.get("sha256"):
        raise IncompleteDatasetError(
            f"{path}: its SHA-256 differs from the one in its {MANIFEST_FILE}; the file was changed after it was "
            "written. Convert it again."
        )


def verify_records_file(path: str | Path) -> int | None:
    """Check a records file against its manifest: the verified record count, or None when no manifest describes it.

    Raises `IncompleteDatasetError` naming the file on a mismatch, FileNotFoundError when it does not exist."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such records file")
    expected = expected_digest(path)
    if expected is None:
        return None
    check_digest(path, expected, records_digest(path))
    return expected["count"]
