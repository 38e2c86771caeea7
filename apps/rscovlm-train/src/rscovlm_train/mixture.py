"""The data mixture of a config: where each data set's records are, what an epoch holds, and what it costs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from rs_data import Record, RecordFileError, read_records
from rs_data.mixing import DatasetEntry, Mixture
from rs_resolution import ResolutionPolicy, visual_tokens

from rscovlm_train.config import ConfigError, DataSection


def records_path(entry: DatasetEntry, root: Path) -> Path:
    """The records file of a data set: its ``path`` (relative to ``root``) or ROOT/NAME.jsonl (``dota@hbb``: dota)."""
    path = Path(entry.path) if entry.path is not None else Path(f"{entry.records_name}.jsonl")
    return path if path.is_absolute() else root / path


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


def summarize(data: DataSection) -> list[DatasetSummary]:
    """Read every records file in full (each line is validated) and plan one epoch; raises `ConfigError`."""
    mixture = resolved_mixture(data)
    loaded, problems = [], []
    for index, entry in enumerate(mixture.datasets):
        records, problem = _read(entry)
        if problem:
            problems.append((f"data.mixture.datasets[{index}].path", problem))
        loaded.append(records)
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
        )
        for entry, records, count in zip(mixture.datasets, loaded, counts, strict=True)
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
