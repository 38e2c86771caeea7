"""One evaluation run: read each benchmark, infer what the cache lacks, then score and report.

Run folder layout::

    RUN_DIR/run.json                         settings that shape predictions (checked on resume)
    RUN_DIR/<benchmark>/manifest.json        the benchmark's sample ids (all shards) and skipped inputs
    RUN_DIR/<benchmark>/predictions.rank{r}-of-{w}.jsonl
    RUN_DIR/results.json, results.md, plots/*.png
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from rscovlm_eval.cache import PredictionCache, merge_shards, shard_path
from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig, load_config
from rscovlm_eval.data import load_benchmark_records
from rscovlm_eval.inference import GenerateFn, ModelSpec, infer_benchmark, load_generator, model_spec
from rscovlm_eval.registry import get_benchmark
from rscovlm_eval.report import write_report

log = logging.getLogger(__name__)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: several shards may write the same file while a report reads it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    partial.replace(path)


def _update_run_file(run_dir: Path, settings: dict[str, Any]) -> None:
    """Write run.json; an existing run folder must have been made with the same settings.

    The benchmarks of earlier runs into the same folder stay listed, so the report covers them all.
    """
    path = run_dir / "run.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous.get("fingerprint") != settings["fingerprint"]:
            raise ConfigError(
                f"{run_dir} holds predictions made with other settings (see {path}); "
                "choose another output_dir/run_name or delete that folder"
            )
        current = {b["key"] for b in settings["benchmarks"]}
        settings["benchmarks"] = [b for b in previous["benchmarks"] if b["key"] not in current] + settings["benchmarks"]
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(path, settings)


def _benchmark_settings(bench: BenchmarkConfig, config: EvalConfig) -> dict[str, Any]:
    registered = get_benchmark(bench.name)
    return {
        "name": bench.name,
        "key": bench.key,
        "metric": registered.metric,
        "task": registered.task,
        "classes": registered.classes,
        "export_only": registered.export_only,
        "zoom": registered.zoom if bench.zoom is None else bench.zoom,
        "data": str(config.resolve(bench.source)),
    }


def run_evaluation(config: EvalConfig | str | Path | dict[str, Any], generate: GenerateFn | None = None) -> Path:
    """Evaluate a model on the configured benchmarks and return the run folder (which holds the report).

    `config` is an EvalConfig, a YAML path or a dict. `generate` replaces the model (a callable taking Qwen-style
    conversations and returning answers); by default the checkpoint at `config.model` is loaded on first need.
    Predictions already in the run folder's cache are reused. With several shards (`world_size` > 1) each process
    predicts its share; the report is written by whichever process finds every shard complete, or later by
    `rscovlm-eval report RUN_DIR`.
    """
    config = load_config(config)
    spec: ModelSpec = model_spec(config)
    run_dir = config.run_dir
    benchmarks = [_benchmark_settings(b, config) for b in config.benchmarks]
    loaded = [load_benchmark_records(b, config) for b in config.benchmarks]  # every data error before any work
    _update_run_file(
        run_dir,
        {
            "fingerprint": config.fingerprint(),
            "spec": spec.to_dict(),
            "benchmarks": benchmarks,
            "config": config.model_dump(mode="json"),
        },
    )
    lazy_generate: list[GenerateFn] = [generate] if generate is not None else []

    def get_generate() -> GenerateFn:
        if not lazy_generate:
            lazy_generate.append(load_generator(config, spec))
        return lazy_generate[0]

    complete = True
    for settings, (records, skipped) in zip(benchmarks, loaded, strict=True):
        folder = run_dir / settings["key"]
        manifest = {"ids": [r.id for r in records], "skipped": [s.__dict__ for s in skipped]}
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / "manifest.json", manifest)
        mine = records[config.rank :: config.world_size]
        done_elsewhere = {e["id"] for e in merge_shards(folder, manifest["ids"])[0]}  # e.g. under another world_size
        with PredictionCache(shard_path(folder, config.rank, config.world_size)) as cache:
            todo = [r for r in mine if r.id not in cache and r.id not in done_elsewhere]
            if todo:
                infer_benchmark(todo, cache, get_generate, config, spec, zoom=settings["zoom"], label=settings["key"])
        complete &= not merge_shards(folder, manifest["ids"])[1]
    if complete:
        write_report(run_dir, plots=config.plots)
    else:
        log.info("waiting for other shards; then run `rscovlm-eval report %s`", run_dir)
    return run_dir
