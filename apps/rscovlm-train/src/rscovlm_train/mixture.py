"""The data mixture of a config: where each data set's records are, what an epoch holds, and what it costs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from rs_data import Record, RecordFileError, read_records
from rs_data.convert import RECORDS_FILE
from rs_data.dataset import UnusableRecordError
from rs_data.mixing import DatasetEntry, Mixture
from rs_data.render import RenderConfig
from rs_resolution import ResolutionPolicy, visual_tokens
from rs_zoom import as_zoom_chain, is_visual_cot
from rscovlm_eval.data import load_benchmark_records

from rscovlm_train.config import ConfigError, DataSection, TrainConfig


def records_path(entry: DatasetEntry, root: Path) -> Path:
    """The records file of a data set: its ``path`` (relative to ``root``; a folder that `rs-data convert` wrote
    means its records.jsonl) or ROOT/NAME.jsonl (``dota@hbb``: dota)."""
    path = Path(entry.path) if entry.path is not None else Path(f"{entry.records_name}.jsonl")
    path = path if path.is_absolute() else root / path
    return path / RECORDS_FILE if path.is_dir() else path


def resolved_mixture(data: DataSection) -> Mixture:
    """The configured mixture with every records path resolved."""
    entries = [
        entry.model_copy(update={"path": str(records_path(entry, data.root))}) for entry in data.mixture.datasets
    ]
    return data.mixture.model_copy(update={"datasets": entries})


def missing_files(data: DataSection) -> list[tuple[str, str]]:
    """``(field path, message)`` for every data set whose records file does not exist."""
    problems = []
    for index, entry in enumerate(data.mixture.datasets):
        path = records_path(entry, data.root)
        if not path.is_file():
            problems.append((f"data.mixture.datasets[{index}].path", f"{entry.name}: no records file at {path}"))
    return problems


@dataclass
class DatasetSummary:
    """What `validate` reports about one data set of the mixture."""

    name: str
    path: Path
    rule: str
    records: int
    samples_per_epoch: int
    visual_tokens: float
    render: str = ""
    images: ImageCheck | None = None
    zoom: ZoomCount | None = None


@dataclass(frozen=True)
class ImageCheck:
    """How many distinct image files of a data set were looked for, and which of them are missing."""

    checked: int
    total: int
    missing: int
    examples: tuple[str, ...]

    def problem(self, name: str) -> str | None:
        """The message for `validate`, or None when every image checked exists."""
        if not self.missing:
            return None
        scope = "" if self.checked == self.total else f" (of {self.checked:,} checked, {self.total:,} in all)"
        return f"{name}: {self.missing:,} image file(s) missing{scope}, e.g. {', '.join(self.examples)}"


@dataclass(frozen=True)
class ZoomCount:
    """How the visual-cot records of a data set train: as Zoom-in Chains (one crop box), as plain questions (none or
    several), or skipped for a crop box that makes no chain (with the first reasons)."""

    chains: int
    plain: int
    skipped: int
    examples: tuple[str, ...]

    def line(self, name: str) -> str:
        """The line `validate` reports for the data set `name`."""
        text = f"{name}: {self.chains:,} as Zoom-in Chains, {self.plain:,} as plain questions"
        if self.skipped:
            text += f", {self.skipped:,} skipped (e.g. {'; '.join(self.examples)})"
        return text


def prepared(records: list[Record], render: RenderConfig, examples: int = 2) -> tuple[list[Record], ZoomCount | None]:
    """The records as training prepares them (`rs_zoom.as_zoom_chain`, as `rscovlm_train.data.mixture_dataset` does;
    a refused one as it is, since training draws it, then skips it) and, when there are visual-cot records, how they
    train."""
    out, chains, plain, problems = [], 0, 0, []
    for record in records:
        visual_cot = is_visual_cot(record)
        try:
            record = as_zoom_chain(record, render)
        except UnusableRecordError as error:
            problems.append(str(error))
        else:
            chains += visual_cot and len(record.images) > 1
            plain += visual_cot and len(record.images) == 1
        out.append(record)
    if not chains + plain + len(problems):
        return out, None
    return out, ZoomCount(chains, plain, len(problems), tuple(problems[:examples]))


def check_images(records: list[Record], sample: int | None = None, seed: int = 0, examples: int = 3) -> ImageCheck:
    """Look for every distinct image file of ``records`` (or a seeded random ``sample`` of them)."""
    paths = list(dict.fromkeys(image.path for record in records for image in record.images))
    chosen = paths
    if sample is not None and sample < len(paths):
        rng = np.random.default_rng(seed)
        chosen = [paths[i] for i in sorted(rng.choice(len(paths), size=sample, replace=False))]
    missing = [path for path in chosen if not Path(path).is_file()]
    return ImageCheck(len(chosen), len(paths), len(missing), tuple(missing[:examples]))


def summarize(data: DataSection, image_sample: int | None = None) -> list[DatasetSummary]:
    """Read every records file in full (each line is validated), prepare its records as training does (`prepared`),
    look for their image files (all, or a random ``image_sample`` per data set) and plan one epoch; raises
    `ConfigError`."""
    mixture = resolved_mixture(data)
    loaded, zooms, problems = [], [], []
    for index, entry in enumerate(mixture.datasets):
        records, problem = _read(entry)
        if problem:
            problems.append((f"data.mixture.datasets[{index}].path", problem))
        records, zoom = prepared(records, data.render.merged(entry.render))
        loaded.append(records)
        zooms.append(zoom)
    if problems:
        raise ConfigError(problems)
    try:
        counts = mixture.counts([len(records) for records in loaded])
    except ValueError as error:
        raise ConfigError([("data.mixture", str(error))]) from error
    return [
        DatasetSummary(
            entry.name,
            Path(entry.path),
            sampling_rule(entry, mixture),
            len(records),
            count,
            visual_tokens_per_sample(records, data.resolution),
            render_override(entry),
            check_images(records, image_sample, mixture.seed),
            zoom,
        )
        for entry, records, zoom, count in zip(mixture.datasets, loaded, zooms, counts, strict=True)
    ]


def sampling_rule(entry: DatasetEntry, mixture: Mixture) -> str:
    """How a data set is drawn, the way the config says it: ``weight 2``, ``x25``, ``10%``, ``balanced``."""
    if mixture.strategy != "weighted":
        return mixture.strategy
    if entry.weight is not None:
        return f"weight {entry.weight:g}"
    parts = [f"{entry.fraction * 100:g}%"] if entry.fraction < 1 else []
    return " ".join([*parts, f"x{entry.repeat:g}"]) if entry.repeat != 1 or not parts else parts[0]


def render_override(entry: DatasetEntry) -> str:
    """An entry's own render settings in flow YAML (``box_types: {hbb: 1.0}``), or ``""`` when it has none."""
    if entry.render is None:
        return ""
    text = yaml.safe_dump(entry.render.model_dump(mode="json"), default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip()[1:-1]


def _read(entry: DatasetEntry) -> tuple[list[Record], str | None]:
    path = Path(entry.path)
    if not path.is_file():
        return [], f"{entry.name}: no records file at {path}"
    try:
        records = list(read_records(path))
    except RecordFileError as error:
        return [], str(error)
    return records, None if records else f"{entry.name}: {path} holds no records"


def visual_tokens_per_sample(records: list[Record], policy: ResolutionPolicy) -> float:
    """Mean LLM visual tokens of a sample at the policy's budget (random resize only lowers it)."""
    if not records:
        return 0.0
    total = 0
    for record in records:
        for image in record.images:
            height, width = policy.resized_size(image.height, image.width, record.dataset, record.task)
            total += visual_tokens(height, width, policy.factor)
    return total / len(records)


def evaluation_image_problems(config: TrainConfig, image_sample: int | None = None) -> list[tuple[str, str]]:
    """Problems of the evaluation section's data: a benchmark whose data cannot be read, or whose images are
    missing (all looked for, or a random ``image_sample`` of each benchmark's)."""
    section, problems = config.evaluation, []
    for index, bench in enumerate(section.benchmarks if section is not None else []):
        where = f"evaluation.benchmarks[{index}]"
        try:
            records, _ = load_benchmark_records(bench, section)
        except ConfigError as error:
            problems += [(f"{where}.data", message) for _, message in error.problems]
            continue
        problem = check_images(records, image_sample, config.seed).problem(bench.key)
        if problem:
            problems.append((where, problem))
    return problems
