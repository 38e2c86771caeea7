"""The staging folders `convert` writes into: `.staging-XXXXXXXX` inside the output directory, each holding its
owner (`host`, `pid`) in `owner.json`.

A folder is stale when its owner is gone: on this host, no process has its pid; a folder without a readable owner
(killed before it was written) is stale a minute after it was made. Whether an owner on another host still runs
cannot be told from here: such a folder is removed only on request (`rs-data clean-staging --other-hosts`), and only
when nothing in it has changed for a while (a running conversion keeps writing into it). Only folders named by this
pattern are ever looked at or removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = ".staging-"
OWNER_FILE = "owner.json"
#: The names `tempfile.mkdtemp(prefix=PREFIX)` makes.
_NAME = re.compile(r"\.staging-[a-z0-9_]{8}")
#: How long a staging folder may be without its owner file (the moment between making it and writing the file).
UNOWNED_GRACE_S = 60.0


@dataclass(frozen=True)
class StagingFolder:
    """A staging folder, its owner (None when unknown) and whether that owner may still be writing into it."""

    path: Path
    pid: int | None
    host: str | None
    live: bool

    @property
    def foreign(self) -> bool:
        """Owned by a process of another host (its liveness unknown here)."""
        return self.host is not None and self.host != socket.gethostname()

    @property
    def owner(self) -> str:
        return f"pid {self.pid} on {self.host}" if self.pid is not None else "no owner recorded"

    def describe(self) -> str:
        """Its name, owner and what becomes of it."""
        if self.foreign:
            state = "another host; once that conversion has ended, `rs-data clean-staging --other-hosts` removes it"
        else:
            state = "still running" if self.live else "stopped; the next convert into this folder removes it"
        return f"{self.path.name} ({self.owner}, {state})"


def create_staging(out_dir: Path) -> Path:
    """A new staging folder inside `out_dir` that names this process as its owner."""
    staging = Path(tempfile.mkdtemp(prefix=PREFIX, dir=out_dir))
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    (staging / OWNER_FILE).write_text(json.dumps(owner) + "\n", encoding="utf-8")
    return staging


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        pass
    return True


def _inspect(path: Path) -> StagingFolder:
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        pid, host = owner["pid"], owner["host"]
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not isinstance(host, str):
            raise ValueError(f"bad owner {owner!r}")
    except (OSError, ValueError, KeyError, TypeError):
        try:
            recent = time.time() - path.stat().st_mtime < UNOWNED_GRACE_S
        except FileNotFoundError:  # finished and removed by its owner meanwhile
            recent = True
        return StagingFolder(path, None, None, recent)
    live = host != socket.gethostname() or _running(pid)
    return StagingFolder(path, pid, host, live)


def idle_seconds(path: Path) -> float:
    """Seconds since anything in the folder `path` (itself included) last changed; 0 when it is gone (its owner
    finished meanwhile). Files that vanish while they are looked at count as changed just now."""
    newest = 0.0
    for entry in [path, *path.rglob("*")]:
        try:
            newest = max(newest, entry.stat().st_mtime)
        except FileNotFoundError:  # moved into place or removed by a running conversion
            return 0.0
    return time.time() - newest


def staging_folders(out_dir: Path) -> list[StagingFolder]:
    """The staging folders inside `out_dir` (none when it is not a directory), by name."""
    if not out_dir.is_dir():
        return []
    return [_inspect(p) for p in sorted(out_dir.iterdir()) if _NAME.fullmatch(p.name) and p.is_dir()]


def remove_stale(out_dir: Path, other_hosts_idle_s: float | None = None) -> list[StagingFolder]:
    """Remove the stale staging folders inside `out_dir`, and with `other_hosts_idle_s` also those of other hosts
    in which nothing changed for that many seconds; returns what was removed."""

    def removable(folder: StagingFolder) -> bool:
        if folder.foreign:
            return other_hosts_idle_s is not None and idle_seconds(folder.path) >= other_hosts_idle_s
        return not folder.live

    stale = [folder for folder in staging_folders(out_dir) if removable(folder)]
    for folder in stale:
        shutil.rmtree(folder.path, ignore_errors=True)
    return stale
