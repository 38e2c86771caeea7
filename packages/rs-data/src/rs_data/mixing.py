"""Weighted online mixing: mixture specs, per-epoch sample plans and a deterministic, sharded, resumable sampler.

Spec strings follow the upstream form: `name%50` keeps a seeded 50 % subsample, `name*3` repeats a dataset three
times (fractions allowed: `*1.5` adds a seeded half copy), `all*2` applies to every available dataset; suffixes
combine (`dota%50*2`). A YAML mixture may give explicit `weight`s instead (sampling proportions), or choose
`strategy: balanced` (every dataset equally often) or `strategy: temperature` (p_i ∝ n_i^(1/T)).

Each entry may carry its own render settings (`render:`, a partial `RenderConfig` merged over the global one), so
one records file can enter a mixture twice, e.g. DOTA as polygons 25 times and as horizontal boxes once. In a spec
string, `name@poly*25,name@hbb` says the same: `@BOX[+BOX...]` draws that entry's boxes from those types only; the
entry is named `name@poly` and reads the records of `name`.

Seeds are honoured: the subsample of `%` depends on the mixture seed only (fixed across epochs); which samples fill a
fractional repeat or a weighted share depends on the seed and the epoch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rs_detect_eval import BoxType

from rs_data.render import RenderOverride

Strategy = Literal["weighted", "balanced", "temperature"]
_BOX_TYPES: tuple[str, ...] = get_args(BoxType)
_SPEC_ITEM = re.compile(
    r"^(?P<name>[A-Za-z0-9_.\-]+)(?:@(?P<boxes>[a-z]+(?:\+[a-z]+)*))?(?P<mods>(?:[%*][0-9]*\.?[0-9]+)*)$"
)
_MOD = re.compile(r"([%*])([0-9]*\.?[0-9]+)")


class DatasetEntry(BaseModel):
    """One dataset of a mixture: its records file, an optional subsample fraction, repeat count or weight, and
    render settings of its own (the fields given replace the global `RenderConfig`'s for this entry only)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str | None = None
    fraction: float = Field(default=1.0, gt=0.0, le=1.0)
    repeat: float = Field(default=1.0, gt=0.0)
    weight: float | None = Field(default=None, ge=0.0)
    render: RenderOverride | None = None

    @property
    def records_name(self) -> str:
        """The data set whose records this entry reads when it has no `path`: the name before any `@` variant."""
        return self.name.split("@", 1)[0]


class Mixture(BaseModel):
    """A list of datasets and how to mix them each epoch."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[DatasetEntry] = Field(min_length=1)
    strategy: Strategy = "weighted"
    temperature: float = Field(default=1.0, gt=0.0)
    epoch_size: int | None = Field(default=None, gt=0)
    seed: int = 42

    @model_validator(mode="after")
    def _unique_names(self) -> Mixture:
        names = [d.name for d in self.datasets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"dataset names must be unique, repeated: {duplicates}")
        return self

    @classmethod
    def from_spec(cls, spec: str, paths: dict[str, str] | None = None, **settings: Any) -> Mixture:
        """A mixture from an upstream spec string; `paths` maps names to records files (and lists `all`)."""
        entries = parse_mixture_spec(spec, available=list(paths) if paths else None)
        for entry in entries:
            entry.path = (paths or {}).get(entry.records_name)
        return cls(datasets=entries, **settings)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Mixture:
        """Load a YAML mixture; relative dataset paths are taken relative to the YAML file."""
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a mixture file is a mapping with a 'datasets' list")
        mixture = cls.model_validate(data)
        for entry in mixture.datasets:
            if entry.path is not None and not Path(entry.path).is_absolute():
                entry.path = str(path.parent / entry.path)
        return mixture

    def counts(self, sizes: Sequence[int]) -> list[int]:
        """How many samples each dataset contributes per epoch, given the datasets' sizes."""
        if len(sizes) != len(self.datasets):
            raise ValueError(f"{len(sizes)} sizes for {len(self.datasets)} datasets")
        kept = [math.ceil(n * d.fraction) if n else 0 for n, d in zip(sizes, self.datasets, strict=True)]
        if self.strategy == "weighted" and all(d.weight is None for d in self.datasets):
            counts = [round(k * d.repeat) for k, d in zip(kept, self.datasets, strict=True)]
            return counts if self.epoch_size is None else _scale(counts, self.epoch_size)
        if self.strategy == "weighted":
            if any(d.weight is None for d in self.datasets):
                raise ValueError("give a weight to every dataset or to none")
            shares = [d.weight if k else 0.0 for k, d in zip(kept, self.datasets, strict=True)]
        elif self.strategy == "balanced":
            shares = [1.0 if k else 0.0 for k in kept]
        else:
            shares = [k ** (1.0 / self.temperature) for k in kept]
        return _scale(shares, self.epoch_size or sum(kept))


def _scale(shares: Sequence[float], total: int) -> list[int]:
    """Integer counts proportional to `shares` that sum to `total` (largest remainders)."""
    weight = float(sum(shares))
    if weight <= 0:
        raise ValueError("the mixture has no samples (all datasets empty or weighted 0)")
    exact = [total * s / weight for s in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def parse_mixture_spec(spec: str, available: Sequence[str] | None = None) -> list[DatasetEntry]:
    """Parse `"dota@poly*25,dota@hbb,dior%50"` into entries; `all` (e.g. `all*2`) stands for every name in
    `available`."""
    entries: dict[str, DatasetEntry] = {}
    for raw in (item.strip() for item in spec.split(",")):
        if not raw:
            continue
        match = _SPEC_ITEM.match(raw)
        if match is None:
            raise ValueError(f"mixture spec item {raw!r}: expected NAME[@BOX][%PERCENT][*REPEAT]")
        render = _box_override(raw, match["boxes"])
        variant = f"@{match['boxes']}" if match["boxes"] else ""
        fraction, repeat = 1.0, 1.0
        for op, value in _MOD.findall(match["mods"]):
            if op == "%":
                if not 0 < float(value) <= 100:
                    raise ValueError(f"mixture spec item {raw!r}: a percentage is in (0, 100]")
                fraction *= float(value) / 100
            else:
                if float(value) <= 0:
                    raise ValueError(f"mixture spec item {raw!r}: a repeat count is positive")
                repeat *= float(value)
        name = match["name"].strip()
        if name == "all":
            if not available:
                raise ValueError("mixture spec uses 'all' but no dataset names are available")
            names = list(available)
        else:
            if available is not None and name not in available:
                raise ValueError(f"mixture spec names unknown dataset {name!r}; known: {sorted(available)}")
            names = [name]
        for n in names:
            entries[n + variant] = DatasetEntry(name=n + variant, fraction=fraction, repeat=repeat, render=render)
    if not entries:
        raise ValueError(f"empty mixture spec {spec!r}")
    return list(entries.values())


def _box_override(item: str, boxes: str | None) -> RenderOverride | None:
    """The render override of a spec item's `@hbb+obb` part: boxes drawn from those types, equally often."""
    if boxes is None:
        return None
    names = boxes.split("+")
    unknown = [b for b in names if b not in _BOX_TYPES]
    if unknown:
        raise ValueError(f"mixture spec item {item!r}: unknown box type {unknown[0]!r}; known: {list(_BOX_TYPES)}")
    return RenderOverride(box_types=dict.fromkeys(names, 1.0))


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([k & 0xFFFFFFFF for k in key]))


class MixtureSampler:
    """Yields sample keys for one rank, epoch by epoch.

    A key is `copy * total + index`: `index` is the global index into the concatenation of the datasets (`total`
    samples) and `copy` counts the repetitions of that sample within the epoch (0 for its first pass), so that a
    repeated dataset (`dota*25`) is rendered afresh for each copy; `MixtureDataset` splits keys back.

    Per epoch every dataset contributes its planned count: whole passes over its (subsampled) pool plus a seeded
    partial pass; the epoch's list is shuffled with (seed, epoch). Rank `r` of `world_size` takes positions
    `r, r + world_size, ...`, so the ranks together see every planned sample exactly once (shards differ in length by
    at most one; `pad=True` repeats the first samples so that all shards are equally long, as torch's
    DistributedSampler does). `state_dict()` records the epoch and how far this rank got; `load_state_dict()` makes
    the next iteration continue from there with exactly the samples it would have seen.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        mixture: Mixture | None = None,
        *,
        seed: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        pad: bool = False,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.sizes = [int(n) for n in sizes]
        self.mixture = mixture or Mixture(datasets=[DatasetEntry(name=str(i)) for i in range(len(self.sizes))])
        self.seed = self.mixture.seed if seed is None else seed
        self.rank, self.world_size, self.shuffle, self.pad = rank, world_size, shuffle, pad
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.counts = self.mixture.counts(self.sizes)
        self.pools = [self._pool(i) for i in range(len(self.sizes))]
        self.epoch = 0
        self.consumed = 0

    def _pool(self, dataset: int) -> np.ndarray:
        n, fraction = self.sizes[dataset], self.mixture.datasets[dataset].fraction
        if fraction >= 1.0:
            return np.arange(n, dtype=np.int64)
        keep = math.ceil(n * fraction)
        return np.sort(_rng(self.seed, dataset).choice(n, size=keep, replace=False)).astype(np.int64)

    def set_epoch(self, epoch: int) -> None:
        """Start `epoch` from its beginning (a no-op on the position when resuming into the same epoch)."""
        if epoch != self.epoch:
            self.epoch, self.consumed = epoch, 0

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """Every sample key of `epoch`, over all ranks, in order."""
        total = int(self.offsets[-1])
        parts = []
        for dataset, (pool, count) in enumerate(zip(self.pools, self.counts, strict=True)):
            if count == 0 or len(pool) == 0:
                continue
            rng = _rng(self.seed, epoch, dataset, 1)
            passes, rest = divmod(count, len(pool))
            copies = [pool + copy * total for copy in range(passes)]
            chosen = [*copies, rng.choice(pool, size=rest, replace=False) + passes * total]
            parts.append(np.concatenate(chosen) + self.offsets[dataset])
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if self.shuffle:
            indices = indices[_rng(self.seed, epoch, 2**31 - 1).permutation(len(indices))]
        if self.pad and len(indices) % self.world_size:
            extra = self.world_size - len(indices) % self.world_size
            indices = np.concatenate([indices, np.resize(indices, extra)])
        return indices

    def _shard(self) -> np.ndarray:
        return self.epoch_indices(self.epoch)[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        shard = self._shard()
        while self.consumed < len(shard):
            index = int(shard[self.consumed])
            self.consumed += 1
            yield index
        self.consumed = 0
        self.epoch += 1

    def __len__(self) -> int:
        total = sum(c for c, pool in zip(self.counts, self.pools, strict=True) if len(pool))
        if self.pad:
            total = math.ceil(total / self.world_size) * self.world_size
        return len(range(self.rank, total, self.world_size))

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "consumed": self.consumed, "seed": self.seed, "world_size": self.world_size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at `state` (from `state_dict()` of any rank); the seed must match.

        The ranks move in step, so together they have taken the first `consumed * world_size` positions of the
        epoch's list. On another world size each rank continues from that global position, as long as it divides
        evenly among the new ranks (it does when the global batch stays the same): the same samples follow in the
        same order. (With `pad=True` the padding at the epoch's end follows the new world size.)
        """
        if state["seed"] != self.seed:
            raise ValueError(f"cannot resume: saved seed={state['seed']}, this sampler has {self.seed}")
        taken = int(state["consumed"]) * int(state["world_size"])
        if taken % self.world_size:
            raise ValueError(
                f"cannot resume: {taken} samples of epoch {state['epoch']} were taken by {state['world_size']} "
                f"ranks, which {self.world_size} ranks cannot continue evenly (keep the global batch size)"
            )
        self.epoch, self.consumed = int(state["epoch"]), taken // self.world_size
