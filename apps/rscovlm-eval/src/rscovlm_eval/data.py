"""Benchmark samples: read through rs-data's readers (or an rs-data records file), filtered and checked."""

from __future__ import annotations

from pathlib import Path

from rs_data import Record, Skipped, read_records
from rs_data.readers import READERS

from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig
from rscovlm_eval.registry import get_benchmark

RECORDS_FORMAT = "records"


def _read(fmt: str, source: Path, options: dict, progress: bool) -> tuple[list[Record], list[Skipped]]:
    if fmt == RECORDS_FORMAT:
        return list(read_records(source)), []
    result = READERS[fmt].read(source, progress=progress, **options)
    return list(result.records), list(result.skipped)


def load_benchmark_records(bench: BenchmarkConfig, config: EvalConfig) -> tuple[list[Record], list[Skipped]]:
    """The benchmark's records of its task (in the reader's stable order) and the inputs left out with the reason.

    Records of other tasks (a VRSBench file holds captions, referring objects and QA) are not this benchmark's
    and are dropped without a report.
    """
    registered = get_benchmark(bench.name)
    source = config.resolve(bench.source)
    if not source.exists():
        raise ConfigError(f"benchmark {bench.key!r}: data {source} does not exist ({registered.expects})")
    fmt = bench.format or registered.reader
    known = [RECORDS_FORMAT, *READERS]
    if fmt not in known:
        raise ConfigError(f"benchmark {bench.key!r}: unknown format {fmt!r}; known: {', '.join(known)}")
    options = {} if fmt == RECORDS_FORMAT else {**registered.reader_options, **bench.options}
    if bench.images is not None:
        options["images"] = config.resolve(bench.images)
    try:
        records, skipped = _read(fmt, source, options, config.progress)
    except TypeError as error:
        raise ConfigError(f"benchmark {bench.key!r}: reader {fmt!r} does not take these options: {error}") from error
    except (OSError, ValueError) as error:
        raise ConfigError(f"benchmark {bench.key!r}: cannot read {source} as {fmt!r}: {error}") from error
    kept: list[Record] = []
    seen: set[str] = set()
    for record in records:
        if record.task != registered.task or (bench.split is not None and record.split != bench.split):
            continue
        if record.annotation is None:
            skipped.append(Skipped(str(source), None, f"{record.id}: no annotation to score against"))
        elif record.id in seen:
            skipped.append(Skipped(str(source), None, f"{record.id}: duplicate sample id"))
        else:
            seen.add(record.id)
            kept.append(record)
    if bench.limit is not None:
        kept = kept[: bench.limit]
    return kept, skipped
