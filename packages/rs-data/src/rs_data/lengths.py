"""Token lengths of the samples of a mixture epoch, from their rendered text before any image is decoded, cached.

A sample's text depends on its record and on the render choices of its epoch (box type, text style, caption), so
lengths are computed per epoch for the keys that epoch draws: rendering reads no pixel (image sizes come from the
records' headers). The counting itself (chat template, tokenizer) belongs to the model side and is passed in as
``count``, with a string ``counter_key`` naming what decides it (the tokenizer and its template).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rs_data.dataset import MixtureDataset, UnusableRecordError

Counter = Callable[[list[dict[str, Any]]], int]


def cache_key(mixture: MixtureDataset, epoch: int, keys: Sequence[int], counter_key: str) -> str:
    """A digest of everything that decides the lengths: every records file (path, size, modification time), the
    render settings of each source, the `prepare` step, the resolution policy, the seed, the epoch, the keys and the
    counter."""
    files = []
    for store in mixture.sources:
        path = Path(getattr(store, "path", ""))
        stat = path.stat() if path.is_file() else None
        files.append([str(path.resolve()), len(store), stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0])
    decided_by = {
        "records": files,
        "render": [config.model_dump(mode="json") for config in mixture.configs],
        "prepare": None if mixture.prepare is None else f"{mixture.prepare.__module__}.{mixture.prepare.__qualname__}",
        "policy": mixture.policy.model_dump(mode="json"),
        "seed": mixture.seed,
        "epoch": epoch,
        "keys": hashlib.sha256(np.asarray(keys, dtype=np.int64).tobytes()).hexdigest(),
        "counter": counter_key,
    }
    return hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode()).hexdigest()[:20]


def count_lengths(mixture: MixtureDataset, epoch: int, keys: Sequence[int], count: Counter) -> np.ndarray:
    """Tokens of each key's sample as rendered in ``epoch`` (no image is read); 0 for a sample whose record the
    mixture's `prepare` refuses (training skips it)."""
    mixture.set_epoch(epoch)
    return np.asarray([_length(mixture, int(key), count) for key in keys], dtype=np.int64)


def _length(mixture: MixtureDataset, key: int, count: Counter) -> int:
    try:
        return count(mixture[key].messages)
    except UnusableRecordError:
        return 0


def epoch_lengths(
    mixture: MixtureDataset, epoch: int, keys: Sequence[int], count: Counter, counter_key: str, cache_dir: Path
) -> np.ndarray:
    """`count_lengths`, read from or written to ``cache_dir/epoch<E>-<digest>.npy``; written atomically, so ranks
    that plan the same epoch at once may share the folder."""
    path = cache_dir / f"epoch{epoch}-{cache_key(mixture, epoch, keys, counter_key)}.npy"
    if path.is_file():
        return np.load(path)
    lengths = count_lengths(mixture, epoch, keys, count)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    np.save(staged, lengths)
    staged.replace(path)
    return lengths
