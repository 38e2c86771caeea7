"""Atomic checkpoints: every checkpoint is written into a staging folder and renamed into place when complete.

A crash mid-save leaves only the staging folder, which the next start removes; ``checkpoint-N`` folders are
therefore always complete, and resuming picks the newest of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from transformers.trainer_utils import get_last_checkpoint

STAGING_DIR = ".staging"
CONFIG_NAME = "rscovlm_train_config.yaml"
SAMPLER_STATE_NAME = "sampler_state.json"


def staging_root(output_dir: str | Path) -> Path:
    """Where checkpoints are assembled before they are renamed into ``output_dir``."""
    return Path(output_dir) / STAGING_DIR


def clear_staging(output_dir: str | Path) -> None:
    """Remove what an interrupted save left behind."""
    shutil.rmtree(staging_root(output_dir), ignore_errors=True)


def commit(staged: Path, final: Path) -> None:
    """Move a complete folder into place with one rename (replacing an older folder of the same name)."""
    previous = final.with_name(final.name + ".previous")
    if final.exists():
        os.replace(final, previous)
    os.replace(staged, final)
    _sync_directory(final.parent)
    shutil.rmtree(previous, ignore_errors=True)
    with contextlib.suppress(OSError):
        staged.parent.rmdir()  # the staging folder, once empty


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete ``checkpoint-N`` folder in ``output_dir``, or None."""
    if not Path(output_dir).is_dir():
        return None
    found = get_last_checkpoint(str(output_dir))
    return Path(found) if found else None


def write_text_atomically(path: Path, text: str) -> None:
    """Write a small file so that readers see either the old or the new content, never a part."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def save_sampler_state(folder: Path, state: dict[str, Any]) -> None:
    write_text_atomically(folder / SAMPLER_STATE_NAME, json.dumps(state, indent=1))


def load_sampler_state(folder: Path) -> dict[str, Any] | None:
    path = folder / SAMPLER_STATE_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
