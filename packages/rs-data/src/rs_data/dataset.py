"""Map-style datasets over records files, usable by `torch.utils.data.DataLoader` (workers included) without this
package importing torch: they only need `__len__` and `__getitem__` and pickle cheaply (a file path and line
offsets, no open handles)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rs_resolution import ResolutionPolicy

from rs_data.integrity import check_digest, expected_digest, scan_records_file
from rs_data.mixing import Mixture, MixtureSampler
from rs_data.render import RenderConfig, RenderedSample, render
from rs_data.schema import Record, RecordFileError, resolve_image_paths


class UnusableRecordError(ValueError):
    """A record that its dataset's `prepare` step refuses (the message says why); training skips and counts it."""


class RecordStore:
    """Random access to the records of one JSONL file: byte offsets are indexed once, lines parsed on demand.

    Indexing checks the file against the manifest beside it, if any (`IncompleteDatasetError` on a mismatch)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        offsets, digest = scan_records_file(self.path)
        check_digest(self.path, expected_digest(self.path), digest)
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, index: int) -> Record:
        with self.path.open("rb") as handle:
            handle.seek(int(self.offsets[index]))
            line = handle.readline()
        try:
            record = Record.model_validate_json(line)
        except ValueError as error:
            raise RecordFileError(f"{self.path}: record {index}: {error}") from error
        return resolve_image_paths(record, self.path.parent)


class MixtureDataset:
    """The datasets of a mixture behind one index space. Items are addressed by the sampler's keys (a global index
    plus which repetition of it this is, see `MixtureSampler`); key `k` is rendered deterministically from
    (seed, epoch, k), so workers and resumed runs produce the same conversation for the same key, and the copies of a
    repeated sample get their own render choices.

    Each source renders with `config` merged with its mixture entry's `render` override (`configs[i]`).

    `prepare(record, config)`, when given, turns every record into the one rendered with its source's render config
    (e.g. a Zoom-in Chain made from its crop box, in the config's coordinate convention) and raises
    `UnusableRecordError` for one it cannot use. It is a module-level function: it pickles (data-loader workers) and
    its qualified name keys length caches (`rs_data.lengths`)."""

    def __init__(
        self,
        sources: Sequence[Sequence[Record]],
        policy: ResolutionPolicy,
        config: RenderConfig | None = None,
        seed: int = 42,
        load_images: bool = False,
        mixture: Mixture | None = None,
        prepare: Callable[[Record, RenderConfig], Record] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.prepare = prepare
        self.mixture = mixture
        self.policy, self.config = policy, config or RenderConfig()
        if mixture is not None and len(mixture.datasets) != len(self.sources):
            raise ValueError(f"{len(self.sources)} sources for the {len(mixture.datasets)} datasets of the mixture")
        overrides = [d.render for d in mixture.datasets] if mixture is not None else [None] * len(self.sources)
        self.configs = [self.config.merged(override) for override in overrides]
        self.seed, self.load_images = seed, load_images
        self.offsets = np.concatenate([[0], np.cumsum([len(s) for s in self.sources])]).astype(np.int64).tolist()
        self.epoch = 0

    @classmethod
    def from_mixture(
        cls,
        mixture: Mixture,
        policy: ResolutionPolicy,
        config: RenderConfig | None = None,
        load_images: bool = False,
        prepare: Callable[[Record, RenderConfig], Record] | None = None,
    ) -> MixtureDataset:
        """Open every dataset's records file (`DatasetEntry.path`); entries with the same path share one store."""
        missing = [d.name for d in mixture.datasets if d.path is None]
        if missing:
            raise ValueError(f"mixture datasets without a records path: {missing}")
        paths = [str(d.path) for d in mixture.datasets]
        stores = {path: RecordStore(path) for path in dict.fromkeys(paths)}
        return cls([stores[path] for path in paths], policy, config, mixture.seed, load_images, mixture, prepare)

    @property
    def sizes(self) -> list[int]:
        return [len(s) for s in self.sources]

    def sampler(self, mixture: Mixture | None = None, rank: int = 0, world_size: int = 1, **options) -> MixtureSampler:
        """A sampler drawing this dataset's indices by `mixture` (default: the one it was built from)."""
        return MixtureSampler(self.sizes, mixture or self.mixture, rank=rank, world_size=world_size, **options)

    def set_epoch(self, epoch: int) -> None:
        """Vary the random render choices (box type, style, random resize, caption) by epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.offsets[-1]

    def locate(self, key: int) -> tuple[int, int]:
        """(dataset number, record number within it) of a sampler key."""
        if key < 0 or len(self) == 0:
            raise IndexError(f"key {key} out of range for {len(self)} samples")
        index = int(key) % len(self)
        source = bisect.bisect_right(self.offsets, index) - 1
        return source, index - self.offsets[source]

    def record(self, key: int) -> Record:
        """The record of a sampler key as its file holds it (before `prepare`)."""
        source, index = self.locate(key)
        return self.sources[source][index]

    def __getitem__(self, key: int) -> RenderedSample:
        """The sample of a sampler key; raises `UnusableRecordError` when `prepare` refuses its record."""
        source, index = self.locate(int(key))
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.epoch, int(key)])
        record = self.sources[source][index]
        if self.prepare is not None:
            record = self.prepare(record, self.configs[source])
        return render(record, self.policy, self.configs[source], rng, load_images=self.load_images)
