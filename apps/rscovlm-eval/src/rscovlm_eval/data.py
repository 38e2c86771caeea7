"""Benchmark samples: read through rs-data's readers (or an rs-data records file), filtered and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rs_data import Record, Skipped, read_records
from rs_data.readers import READERS
from rs_detect_eval import parse_patch_name

from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig
from rscovlm_eval.registry import get_benchmark

RECORDS_FORMAT = "records"
FULL_TARGETS = "full_targets.json"  # in a benchmark's run folder: the labels merged answers are scored on


def _read(fmt: str, source: Path, options: dict, progress: bool) -> tuple[list[Record], list[Skipped]]:
    if fmt == RECORDS_FORMAT:
        return list(read_records(source)), []
    result = READERS[fmt].read(source, progress=progress, **options)
    return list(result.records), list(result.skipped)


def _read_source(
    bench: BenchmarkConfig, config: EvalConfig, source: Path, fmt: str, options: dict[str, Any]
) -> tuple[list[Record], list[Skipped]]:
    """Every record of `source` read as `fmt`; errors name the benchmark."""
    registered = get_benchmark(bench.name)
    if not source.exists():
        raise ConfigError(f"benchmark {bench.key!r}: data {source} does not exist ({registered.expects})")
    known = [RECORDS_FORMAT, *READERS]
    if fmt not in known:
        raise ConfigError(f"benchmark {bench.key!r}: unknown format {fmt!r}; known: {', '.join(known)}")
    try:
        return _read(fmt, source, {} if fmt == RECORDS_FORMAT else options, config.progress)
    except TypeError as error:
        raise ConfigError(f"benchmark {bench.key!r}: reader {fmt!r} does not take these options: {error}") from error
    except (OSError, ValueError) as error:
        raise ConfigError(f"benchmark {bench.key!r}: cannot read {source} as {fmt!r}: {error}") from error


def load_benchmark_records(bench: BenchmarkConfig, config: EvalConfig) -> tuple[list[Record], list[Skipped]]:
    """The benchmark's records of its task (in the reader's stable order) and the inputs left out with the reason.

    Records of other tasks (a VRSBench file holds captions, referring objects and QA) are not this benchmark's
    and are dropped without a report. A record showing a window of an image file (`rs_data.ImageRef.window`) is
    left out with the reason: the chain, the gallery and the few-shot examples read whole images.
    """
    registered = get_benchmark(bench.name)
    source = config.resolve(bench.source)
    options = {**registered.reader_options, **bench.options}
    if bench.images is not None:
        options["images"] = config.resolve(bench.images)
    records, skipped = _read_source(bench, config, source, bench.format or registered.reader, options)
    kept: list[Record] = []
    seen: set[str] = set()
    for record in records:
        if record.task != registered.task or (bench.split is not None and record.split != bench.split):
            continue
        if record.annotation is None:
            skipped.append(Skipped(str(source), None, f"{record.id}: no annotation to score against"))
        elif any(image.window is not None for image in record.images):
            skipped.append(Skipped(str(source), None, f"{record.id}: benchmarks show whole images, not a window"))
        elif record.id in seen:
            skipped.append(Skipped(str(source), None, f"{record.id}: duplicate sample id"))
        else:
            seen.add(record.id)
            kept.append(record)
    if bench.limit is not None:
        kept = kept[: bench.limit]
    return kept, skipped


def _patch_image(sample_id: str) -> str | None:
    """The full image a DOTA_devkit patch id (`P0001__1__0___0`) was cut from, or None for any other id."""
    try:
        return parse_patch_name(sample_id).image_id
    except ValueError:
        return None


def load_full_targets(bench: BenchmarkConfig, config: EvalConfig, records: list[Record]) -> dict[str, Any] | None:
    """The full-image ground truth (image id -> detection annotation as JSON) that merged patch answers are scored
    on, or None when the answers are scored as they are.

    Answers are merged when `merge_patches` says so, by default when `full_images` is given or every sample of a
    scored detection benchmark is a DOTA_devkit patch (a test split's patches are merged by its Task1 export).
    Raises ConfigError when merging lacks `full_images`, a sample is not a patch, or a full image is missing.
    """
    registered = get_benchmark(bench.name)
    merge = bench.merge_patches
    if merge is None:
        patches = bool(records) and all(_patch_image(r.id) is not None for r in records)
        scored_detection = registered.metric == "detection" and not registered.export_only
        merge = bench.full_images is not None or (patches and scored_detection)
    if not merge or not records:
        return None
    odd = next((r.id for r in records if _patch_image(r.id) is None), None)
    if odd is not None:
        raise ConfigError(f"benchmark {bench.key!r}: merging patch answers needs DOTA_devkit patch ids, not {odd!r}")
    if bench.full_images is None:
        raise ConfigError(
            f"benchmark {bench.key!r}: its samples are image patches (e.g. {records[0].id!r}); set `full_images` to "
            "the full-image data they were cut from to score merged answers, or `merge_patches: false` to score patches"
        )
    images = sorted({_patch_image(r.id) for r in records})
    source = config.resolve(bench.full_images)
    if source.suffix == ".jsonl":
        fmt, options = RECORDS_FORMAT, {}
    else:  # the public format: patches may be records (`rs-data convert --split-size`), the full images are not
        fmt, options = (
            registered.reader,
            {**registered.reader_options, **(bench.options if bench.format is None else {})},
        )
    full = {r.id: r for r in _read_source(bench, config, source, fmt, options)[0] if r.task == "detection"}
    missing = [image for image in images if image not in full]
    if missing:
        raise ConfigError(
            f"benchmark {bench.key!r}: full_images {source} lacks {len(missing)} image(s), e.g. {missing[0]!r}"
        )
    return {image: full[image].annotation.model_dump(mode="json") for image in images}
