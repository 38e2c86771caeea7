"""Benchmark samples: read through rs-data's readers (or an rs-data records file), filtered and checked."""

from __future__ import annotations

from pathlib import Path

from rs_data import Record, Skipped, read_records
from rs_data.readers import READERS

from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig
from rscovlm_eval.registry import get_benchmark

RECORDS_FORMAT = "records"


def load_benchmark_records(bench: BenchmarkConfig, config: EvalConfig) -> tuple[list[Record], list[Skipped]]:
    """The benchmark's evaluable records (in a stable order) and the inputs left out, each with its reason."""
    registered = get_benchmark(bench.name)
    source = config.resolve(bench.source)
    if not source.exists():
        raise ConfigError(f"benchmark {bench.key!r}: data {source} does not exist ({registered.expects})")
    fmt = bench.format or registered.reader
    skipped: list[Skipped] = []
    if fmt == RECORDS_FORMAT:
        records = list(read_records(source))
    else:
        if fmt not in READERS:
            raise ConfigError(
                f"benchmark {bench.key!r}: unknown format {fmt!r}; known: {RECORDS_FORMAT}, {', '.join(READERS)}"
            )
        options = {**registered.reader_options, **bench.options}
        if bench.images is not None:
            options["images"] = config.resolve(bench.images)
        result = READERS[fmt].read(Path(source), **options)
        records, skipped = list(result.records), list(result.skipped)
    split = bench.split or registered.split
    kept: list[Record] = []
    seen: set[str] = set()
    for record in records:
        if split is not None and record.split is not None and record.split != split:
            continue
        if record.task != registered.task:
            skipped.append(Skipped(str(source), None, f"{record.id}: task {record.task!r} is not {registered.task!r}"))
        elif record.annotation is None and not registered.export_only:
            skipped.append(Skipped(str(source), None, f"{record.id}: no annotation to score against"))
        elif record.id in seen:
            skipped.append(Skipped(str(source), None, f"{record.id}: duplicate sample id"))
        else:
            seen.add(record.id)
            kept.append(record)
    if bench.limit is not None:
        kept = kept[: bench.limit]
    return kept, skipped
