"""The report of a run folder: results.json (every number), results.md (paper-style tables), plots/*.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rscovlm_eval.cache import merge_shards
from rscovlm_eval.data import FULL_TARGETS
from rscovlm_eval.metrics.detection import DetectionResult
from rscovlm_eval.scoring import BenchmarkScore, ScoringContext, score_benchmark
from rscovlm_eval.tables import results_markdown

LOSS_HISTORY_FILE = "loss_history.json"  # in a checkpoint folder rscovlm-train wrote: the logged losses by step


class IncompleteRunError(RuntimeError):
    """Some samples of a benchmark have no prediction yet (a shard has not finished)."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: is {path.parent} an evaluation run folder?") from None


def compute_results(run_dir: Path) -> tuple[dict[str, Any], dict[str, BenchmarkScore]]:
    """Score every benchmark of a run from its merged shard caches; also return the typed scores (plot data).

    A benchmark with more failed samples than `inference.max_error_fraction` of its samples is marked `incomplete`.
    """
    run = _read_json(run_dir / "run.json")
    results: dict[str, Any] = {
        "model": run["config"]["model"],
        "spec": run["spec"],
        "groups": run["config"].get("groups", {}),
        "benchmarks": {},
    }
    plot_data: dict[str, BenchmarkScore] = {}
    max_errors = run["config"].get("inference", {}).get("max_error_fraction", 0.0)
    for bench in run["benchmarks"]:
        folder = run_dir / bench["key"]
        manifest = _read_json(folder / "manifest.json")
        entries, missing = merge_shards(folder, manifest["ids"])
        if missing:
            raise IncompleteRunError(
                f"{bench['key']}: {len(missing)} of {len(manifest['ids'])} samples have no prediction yet "
                f"(e.g. {missing[0]!r}); finish every shard (rank 0..world_size-1) first"
            )
        ctx = ScoringContext.of_benchmark(
            run,
            bench,
            report_dir=folder,
            full_targets=_read_json(folder / FULL_TARGETS) if bench.get("merge_patches") else None,
        )
        score = score_benchmark(bench["metric"], entries, ctx)
        results["benchmarks"][bench["key"]] = {
            "name": bench["name"],
            "metric": bench["metric"],
            "group": bench.get("group"),
            **score.to_dict(),
            "skipped_inputs": len(manifest["skipped"]),
            "incomplete": score.error_count > max_errors * len(manifest["ids"]),
        }
        plot_data[bench["key"]] = score
    return results, plot_data


def _plots(results: dict[str, Any], plot_data: dict[str, BenchmarkScore], out: Path) -> list[str]:
    from rscovlm_eval.plots import plot_class_ap, plot_confusion, plot_pr_curves, plot_training_loss

    written = []
    history = Path(results["model"]) / LOSS_HISTORY_FILE
    if history.is_file():
        log = json.loads(history.read_text(encoding="utf-8"))
        written.append(plot_training_loss(log, "training loss per task", out / "training_loss.png"))
    for key, result in results["benchmarks"].items():
        if "confusion" in result:
            written.append(plot_confusion(result["confusion"], f"{key}: confusion", out / f"{key}_confusion.png"))
        if "per_class" in result and result["metric"] == "detection":
            written.append(plot_class_ap(result["per_class"], f"{key}: AP per class", out / f"{key}_ap.png"))
            scored = plot_data[key].result
            if isinstance(scored, DetectionResult):
                pr = {c: (r.recall, r.precision) for c, r in scored.devkit.per_class.items() if r.num_det}
                written.append(plot_pr_curves(pr, f"{key}: precision-recall", out / f"{key}_pr.png"))
    return [str(p.relative_to(out.parent)) for p in written]


def write_report(run_dir: Path, plots: bool = True, html: bool = False) -> dict[str, Any]:
    """Score the run and write results.json, results.md, the plots (and report.html) into `run_dir`."""
    results, plot_data = compute_results(run_dir)
    if plots:
        results["plots"] = _plots(results, plot_data, run_dir / "plots")
    (run_dir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (run_dir / "results.md").write_text(results_markdown(results), encoding="utf-8")
    if html:
        from rscovlm_eval.html_report import write_html_report

        write_html_report(run_dir)
    return results
