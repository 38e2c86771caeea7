"""In-context (few-shot) evaluation: N solved examples from a training split put before every prompt.

As upstream RSCoVLM (`get_incontext_msg` in its `rscovlm/eval/data/data.py`), one set of examples is chosen per
benchmark and the same turns (user: image + prompt, assistant: answer) precede every test question. Selection:

- `random`: the first N of the pool shuffled under the run's seed (and the benchmark's key);
- `per_class`: the same shuffle, one example per distinct answer (class) first, then others when there are fewer
  classes than N (upstream's `_unique_N`);
- `file`: the record ids listed in `shot_file`, one a line, in that order (e.g. upstream's PPL-ranked examples).

Examples are rendered by rs-data's renderer with the benchmark's box type and style, exactly as training renders
them; a system prompt (grounding, detection) is said once, before the examples.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rs_data import Record
from rs_data.render import render

from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig
from rscovlm_eval.data import RECORDS_FORMAT, _read_source
from rscovlm_eval.registry import get_benchmark

if TYPE_CHECKING:
    from rscovlm_eval.model_settings import ModelSpec


def load_shot_pool(bench: BenchmarkConfig, config: EvalConfig) -> list[Record]:
    """The benchmark's task records of `shot_data` (its training split), read as the benchmark is read."""
    registered = get_benchmark(bench.name)
    source = config.resolve(bench.shot_data)
    fmt = RECORDS_FORMAT if source.suffix == ".jsonl" else bench.format or registered.reader
    options = {} if fmt == RECORDS_FORMAT else {**registered.reader_options, **bench.options, **bench.shot_options}
    images = bench.shot_images if bench.shot_images is not None else bench.images
    if images is not None and fmt != RECORDS_FORMAT:
        options["images"] = config.resolve(images)
    records, _ = _read_source(bench, config, source, fmt, options)
    pool = [r for r in records if r.task == registered.task and r.annotation is not None]
    if not pool:
        raise ConfigError(f"benchmark {bench.key!r}: shot_data {source} holds no {registered.task} examples")
    return pool


def answer_class(record: Record) -> str:
    """What makes two examples the same class: the label, the answer, the expression or the first caption."""
    ann = record.annotation
    value = getattr(ann, "label", None) or getattr(ann, "answer", None) or getattr(ann, "expression", None)
    return (value or ann.captions[0]).strip().lower()


def _shuffled(pool: list[Record], seed: int, key: str) -> list[Record]:
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return [pool[i] for i in rng.permutation(len(pool))]


def _per_class(ordered: list[Record], shots: int) -> list[Record]:
    first, rest, seen = [], [], set()
    for record in ordered:
        name = answer_class(record)
        (rest if name in seen else first).append(record)
        seen.add(name)
    return (first + rest)[:shots]


def _from_file(pool: list[Record], path: Path, shots: int) -> list[Record]:
    by_id = {r.id: r for r in pool}
    chosen = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.strip() not in by_id:
            raise ConfigError(f"{path}:{number}: {line.strip()!r} is not an example of the shot pool")
        chosen.append(by_id[line.strip()])
    return chosen[:shots]


def select_shots(bench: BenchmarkConfig, config: EvalConfig, pool: list[Record]) -> list[Record]:
    """The benchmark's `shots` examples from `pool` by `shot_selection`, the same under the same seed."""
    if bench.shot_selection == "file":
        chosen = _from_file(pool, config.resolve(bench.shot_file), bench.shots)
    else:
        ordered = _shuffled(pool, config.seed, bench.key)
        chosen = _per_class(ordered, bench.shots) if bench.shot_selection == "per_class" else ordered[: bench.shots]
    if len(chosen) < bench.shots:
        raise ConfigError(f"benchmark {bench.key!r}: {bench.shots} shots asked, only {len(chosen)} examples found")
    return chosen


def shot_settings(bench: BenchmarkConfig, config: EvalConfig) -> dict[str, Any]:
    """What decides the examples (a cache made with other examples is refused)."""
    return {
        "count": bench.shots,
        "selection": bench.shot_selection,
        "data": str(config.resolve(bench.shot_data)),
        "options": bench.shot_options,
        "file": None if bench.shot_file is None else str(config.resolve(bench.shot_file)),
    }


def load_shots(bench: BenchmarkConfig, config: EvalConfig) -> list[Record]:
    """The in-context examples of a benchmark (none when `shots` is 0)."""
    return select_shots(bench, config, load_shot_pool(bench, config)) if bench.shots else []


def shot_messages(
    shots: list[Record], config: EvalConfig, spec: ModelSpec, templates: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The examples as conversation turns, rendered as training renders them (system prompts included)."""
    from rscovlm_eval.inference import sample_rng  # inference uses `with_shots`

    policy = spec.policy
    messages = []
    for record in shots:
        rendering = spec.render_for(record.task, templates=templates)
        sample = render(record, policy, rendering, sample_rng(config.seed, record.id))
        messages += sample.messages
    return messages


def with_shots(messages: list[dict[str, Any]], shots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prompt with the example turns before its question; one system prompt first, as the examples share it."""
    if not shots:
        return messages
    system = [m for m in messages[:1] if m["role"] == "system"]
    examples = [m for m in shots if m["role"] != "system"]
    return system + examples + messages[len(system) :]
