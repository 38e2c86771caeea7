"""One evaluation run: read each benchmark, infer what the cache lacks, then score and report.

Run folder layout::

    RUN_DIR/run.json                         settings and backend that shape predictions (checked on resume)
    RUN_DIR/<benchmark>/manifest.json        the benchmark's sample ids (all shards) and skipped inputs
    RUN_DIR/<benchmark>/full_targets.json    full-image labels that merged patch answers are scored on (if merged)
    RUN_DIR/<benchmark>/predictions.rank{r}-of-{w}.jsonl
    RUN_DIR/<benchmark>/predictions.rank{r}-of-{w}.lock   while a run predicts that shard (owner host and pid)
    RUN_DIR/results.json, results.md, plots/*.png
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from rscovlm_eval.backends import GenerateFn, backend_identity, describe_backend, load_backend
from rscovlm_eval.cache import PredictionCache, ShardLock, lock_path, merge_shards, shard_path
from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig, load_config
from rscovlm_eval.data import FULL_TARGETS, load_benchmark_records, load_full_targets
from rscovlm_eval.fewshot import load_shots, shot_messages, shot_settings
from rscovlm_eval.inference import infer_benchmark, prediction_settings
from rscovlm_eval.model_settings import ModelSpec, model_spec
from rscovlm_eval.registry import get_benchmark
from rscovlm_eval.report import write_report
from rscovlm_eval.scoring_options import scoring_options
from rscovlm_eval.zoom_rules import zoom_groups, zoom_skip_categories

log = logging.getLogger(__name__)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: several shards may write the same file while a report reads it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    partial.replace(path)


def _update_run_file(run_dir: Path, settings: dict[str, Any]) -> None:
    """Write run.json; an existing run folder must have been made with the same settings.

    Run-wide settings (`fingerprint`) must match, and so must the inputs of a benchmark evaluated into the folder
    before, and the backend (`backend_identity`): a folder's cache holds the answers of one backend, so another
    backend kind, server URL, served model id or checkpoint weights stops the run naming what changed. The
    benchmarks of earlier runs into the same folder stay listed, so the report covers them all.
    """
    path = run_dir / "run.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        changed = _changed(previous.get("fingerprint") or {}, settings["fingerprint"])
        before = {b["key"]: b for b in previous["benchmarks"]}
        for bench in settings["benchmarks"]:
            if bench["key"] in before:
                changed += [
                    f"{bench['key']}.{c}" for c in _changed(before[bench["key"]].get("inputs"), bench["inputs"])
                ]
        if changed:
            raise ConfigError(
                f"{run_dir} holds predictions made with other settings ({', '.join(changed)}; see {path}); "
                "choose another output_dir/run_name or delete that folder"
            )
        if backend := _backend_changes(previous.get("backend"), settings["backend"]):
            raise ConfigError(
                f"{run_dir} holds predictions of another backend ({'; '.join(backend)}; see {path}); "
                "choose another output_dir/run_name for this one, or delete that folder"
            )
        current = {b["key"] for b in settings["benchmarks"]}
        settings["benchmarks"] = [b for b in previous["benchmarks"] if b["key"] not in current] + settings["benchmarks"]
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(path, settings)


def _backend_changes(before: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """How this run's backend differs from the one a folder's predictions came from, as `backend.FIELD: old -> new`;
    a field the earlier run did not record is not compared."""
    old, new = backend_identity(before or now), backend_identity(now)
    fields = ["kind"] if old["kind"] != new["kind"] else [f for f in old if old[f] != new.get(f)]
    return [f"backend.{f}: {old.get(f)!r} -> {new.get(f)!r}" for f in fields]


def _changed(before: Any, now: Any, prefix: str = "") -> list[str]:
    """The dotted names of the settings that differ between two JSON values (the whole value when not a dict)."""
    if not isinstance(before, dict) or not isinstance(now, dict):
        return [] if before == now else [prefix or "settings"]
    return [
        name
        for key in sorted(set(before) | set(now))
        for name in _changed(before.get(key), now.get(key), f"{prefix}.{key}" if prefix else key)
    ]


def _benchmark_settings(bench: BenchmarkConfig, config: EvalConfig, merge_patches: bool) -> dict[str, Any]:
    registered = get_benchmark(bench.name)
    zoom = registered.zoom if bench.zoom is None else bench.zoom
    inputs = {
        "data": str(config.resolve(bench.source)),
        "images": None if bench.images is None else str(config.resolve(bench.images)),
        "format": bench.format or registered.reader,
        "options": {**registered.reader_options, **bench.options},
        "split": bench.split,
        "zoom": zoom,
        "box_type": bench.box_type,
    }
    if zoom:
        inputs["zoom_skip_categories"] = zoom_skip_categories(bench)
    if bench.shots:
        inputs["shots"] = shot_settings(bench, config)
    if registered.templates:
        inputs["templates"] = registered.templates
    return {
        "name": bench.name,
        "key": bench.key,
        "group": bench.group,
        "metric": registered.metric,
        "task": registered.task,
        "classes": registered.classes,
        "export_only": registered.export_only,
        "zoom": zoom,
        "merge_patches": merge_patches,
        "data": inputs["data"],
        "inputs": json.loads(json.dumps(inputs, default=str)),
        "scoring": scoring_options(bench),
    }


def _done(entries: list[dict[str, Any]], config: EvalConfig) -> set[str]:
    """Ids that need no new prediction: those answered, and those failed too when errors are not retried."""
    return {e["id"] for e in entries if "error" not in e or not config.inference.retry_errors}


def run_evaluation(config: EvalConfig | str | Path | dict[str, Any], generate: GenerateFn | None = None) -> Path:
    """Evaluate a model on the configured benchmarks and return the run folder (which holds the report).

    `config` is an EvalConfig, a YAML path or a dict. `generate` replaces the model (a callable taking Qwen-style
    conversations and returning answers); by default the checkpoint at `config.model` is loaded on first need.
    Predictions already in the run folder's cache are reused (samples cached with an error are predicted again
    unless `inference.retry_errors` is off); each shard is predicted under a lock file. With several shards
    (`world_size` > 1) each process predicts its share; the report is written by whichever process finds every
    shard complete, or later by `rscovlm-eval report RUN_DIR`.
    """
    config = load_config(config)
    spec: ModelSpec = model_spec(config)
    run_dir = config.run_dir
    loaded = [load_benchmark_records(b, config) for b in config.benchmarks]  # every data error before any work
    full_targets = [
        load_full_targets(b, config, records) for b, (records, _) in zip(config.benchmarks, loaded, strict=True)
    ]
    benchmarks = [
        _benchmark_settings(b, config, targets is not None)
        for b, targets in zip(config.benchmarks, full_targets, strict=True)
    ]
    backend = describe_backend(config) if generate is None else {"kind": "callable"}
    if generate is None and config.inference.backend == "openai":  # reach the server before any work
        from rscovlm_eval.backends.openai import connect

        chat = connect(config, spec)
        backend["served_model"] = chat.model
        generate = chat
    _update_run_file(
        run_dir,
        {
            "fingerprint": prediction_settings(config, spec),
            "spec": spec.to_dict(),
            "benchmarks": benchmarks,
            "config": config.model_dump(mode="json"),
            "backend": backend,
        },
    )
    shots = [load_shots(b, config) for b in config.benchmarks]
    lazy_generate: list[GenerateFn] = [generate] if generate is not None else []

    def get_generate() -> GenerateFn:
        if not lazy_generate:
            lazy_generate.append(load_backend(config, spec))
        return lazy_generate[0]

    complete = True
    for bench, settings, (records, skipped), targets, examples in zip(
        config.benchmarks, benchmarks, loaded, full_targets, shots, strict=True
    ):
        folder = run_dir / settings["key"]
        manifest = {"ids": [r.id for r in records], "skipped": [s.__dict__ for s in skipped]}
        if examples:
            manifest["shots"] = [r.id for r in examples]
        templates = settings["inputs"].get("templates")
        context = shot_messages(examples, config, spec, templates)
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / "manifest.json", manifest)
        if targets is not None:
            _write_json(folder / FULL_TARGETS, targets)
        mine = records[config.rank :: config.world_size]
        lock = ShardLock(
            lock_path(folder, config.rank, config.world_size),
            wait=config.inference.wait_for_lock,
            stale_s=config.inference.lock_stale_s,
        )
        with lock, PredictionCache(shard_path(folder, config.rank, config.world_size)) as cache:
            done_elsewhere = _done(merge_shards(folder, manifest["ids"])[0], config)  # e.g. under another world_size
            todo = [r for r in mine if r.id not in done_elsewhere]
            skip = settings["inputs"].get("zoom_skip_categories", [])
            for group, zoom in zoom_groups(todo, settings["zoom"], skip):
                infer_benchmark(
                    group,
                    cache,
                    get_generate,
                    config,
                    spec,
                    zoom=zoom,
                    label=settings["key"],
                    box_type=bench.box_type,
                    context=context,
                    templates=templates,
                )
        complete &= not merge_shards(folder, manifest["ids"])[1]
    if complete:
        write_report(run_dir, plots=config.plots, html=config.html)
    else:
        log.info("waiting for other shards; then run `rscovlm-eval report %s`", run_dir)
    return run_dir
