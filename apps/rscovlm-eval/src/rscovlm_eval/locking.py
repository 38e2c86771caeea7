"""A lock file per benchmark shard, so that two runs on one folder never predict the same samples.

The file holds its owner (`host`, `pid`, start time) and is refreshed (its mtime touched) while the owner works.
A lock is stale when its owner is gone: on the same host, when no process has its pid; on another host, when it has
not been refreshed for `stale_s` seconds. A stale lock is taken over, with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class LockedError(RuntimeError):
    """Another live run holds the lock; the message names it and the lock file."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _owner(path: Path) -> dict[str, Any] | None:
    """The lock's owner record, or None when there is no lock file; an unreadable record reads as {}."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        owner = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _describe(owner: dict[str, Any]) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("started", 0)))
    return f"pid {owner.get('pid')} on {owner.get('host')} (since {started})"


def _is_stale(path: Path, owner: dict[str, Any], stale_s: float) -> bool:
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        return not _alive(owner["pid"])
    try:
        return time.time() - path.stat().st_mtime > stale_s
    except FileNotFoundError:
        return False


def lock_holder(path: Path, stale_s: float = 300.0) -> str | None:
    """Who holds the lock at `path` (as text), or None when nobody live does."""
    owner = _owner(path)
    if owner is None or _is_stale(path, owner, stale_s):
        return None
    return _describe(owner)


class ShardLock:
    """`with ShardLock(path):` hold the lock file at `path`; while another run has it, stop (or wait, `wait=True`)."""

    def __init__(self, path: Path, wait: bool = False, stale_s: float = 300.0, poll_s: float = 1.0) -> None:
        self.path = path
        self.wait = wait
        self.stale_s = stale_s
        self.poll_s = poll_s
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.owner, handle)
        return True

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while not self._try_create():
            owner = _owner(self.path)
            if owner is None:  # released meanwhile
                continue
            if _is_stale(self.path, owner, self.stale_s):
                if _owner(self.path) == owner:  # still the same stale owner: take it over
                    log.warning("taking over the stale lock %s of %s", self.path, _describe(owner))
                    self.path.unlink(missing_ok=True)
                continue
            if not self.wait:
                raise LockedError(
                    f"{self.path.parent}: shard {self.path.stem.removeprefix('predictions.')} is being predicted by "
                    f"{_describe(owner)} (lock file {self.path}); wait for that run or rerun with --wait-for-lock"
                )
            time.sleep(self.poll_s)
        self._heartbeat = threading.Thread(target=self._refresh, daemon=True)
        self._heartbeat.start()

    def _refresh(self) -> None:
        while not self._stop.wait(self.stale_s / 4):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if _owner(self.path) == self.owner:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> ShardLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
