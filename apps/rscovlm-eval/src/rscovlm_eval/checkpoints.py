"""Evaluate several checkpoints (or every `checkpoint-*` of a training folder), one run folder each, and write a
summary table across them: OUTPUT_DIR/summary.json and summary.md."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rscovlm_eval.backends import GenerateFn
from rscovlm_eval.config import ConfigError, load_config
from rscovlm_eval.runner import run_evaluation
from rscovlm_eval.tables import pct

# the number a summary shows per metric family (results.json key), as papers put it in one column; the families
# scored per suite or per task without one overall number (VHM-Eval, TEOChatlas' temporal tasks) are left out
HEADLINE = {
    "classification": "accuracy",
    "captioning": "CIDEr",
    "vqa": "accuracy",
    "grounding": "acc@0.5",
    "oriented_grounding": "acc@0.5",
    "multi_referring": "accuracy",
    "geochat_grounding": "accuracy",
    "detection": "map_devkit",
    "lrs_vqa": "accuracy",
    "multiple_choice": "accuracy",
    "teochat": "accuracy",
    "xlrs": "accuracy",
}


def _step(path: Path) -> tuple[int, str]:
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return (int(match.group(1)) if match else -1, path.name)


def expand_checkpoints(paths: Sequence[Path]) -> list[Path]:
    """Checkpoint folders (holding config.json) as given; a training folder becomes its `checkpoint-*` by step."""
    found = []
    for path in paths:
        if (path / "config.json").is_file():
            found.append(path)
            continue
        steps = sorted((p for p in path.glob("checkpoint-*") if (p / "config.json").is_file()), key=_step)
        if not steps:
            raise ConfigError(f"{path}: neither a checkpoint (no config.json) nor a folder of checkpoint-* checkpoints")
        found += steps
    return found


def _run_names(checkpoints: list[Path]) -> list[str]:
    """The folder name of each checkpoint, with its parent's name in front where two would share one."""
    names = [c.name for c in checkpoints]
    return [f"{c.parent.name}_{c.name}" if names.count(c.name) > 1 else c.name for c in checkpoints]


def summary_markdown(rows: list[dict[str, Any]]) -> str:
    """One row per checkpoint, one column per benchmark (its headline number in percent; `*` marks incomplete)."""
    keys = list(dict.fromkeys(k for row in rows for k in row["benchmarks"]))
    header = ["Checkpoint", *(f"{k} ({HEADLINE[m]})" for k, m in _metrics(rows, keys))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = []
        for key in keys:
            result = row["benchmarks"].get(key)
            value = None if result is None else result["value"]
            cells.append(pct(value) + ("*" if result and result["incomplete"] else ""))
        lines.append("| " + " | ".join([row["name"], *cells]) + " |")
    note = "\n\n`*`: incomplete (more failed samples than allowed); `-`: not evaluated or no report yet.\n"
    return "# Checkpoints\n\n" + "\n".join(lines) + note


def _metrics(rows: list[dict[str, Any]], keys: list[str]) -> list[tuple[str, str]]:
    metric = {k: r["metric"] for row in rows for k, r in row["benchmarks"].items()}
    return [(k, metric[k]) for k in keys]


def _headlines(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: {"metric": r["metric"], "value": r.get(HEADLINE[r["metric"]]), "incomplete": bool(r.get("incomplete"))}
        for key, r in results["benchmarks"].items()
        if HEADLINE.get(r["metric"]) in r
    }


def evaluate_checkpoints(
    source: dict[str, Any], checkpoints: Sequence[Path], generate: GenerateFn | None = None, **overrides: Any
) -> Path:
    """Run the evaluation `source` (a config dict, with keyword overrides) on every checkpoint, each into its own
    run folder named after it, and return the summary.md path. `generate` replaces every model (as in
    `run_evaluation`)."""
    paths = expand_checkpoints(checkpoints)
    overrides.pop("model", None)
    prefix = overrides.pop("run_name", None) or source.get("run_name")
    configs = [  # every config checked before any work
        load_config({**source, "model": str(path), "run_name": f"{prefix}_{name}" if prefix else name}, **overrides)
        for path, name in zip(paths, _run_names(paths), strict=True)
    ]
    rows = []
    for path, config in zip(paths, configs, strict=True):
        run_dir = run_evaluation(config, generate=generate)
        results_file = run_dir / "results.json"
        results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else None
        rows.append(
            {
                "name": config.run_name,
                "model": str(path),
                "run_dir": str(run_dir),
                "benchmarks": {} if results is None else _headlines(results),
            }
        )
    output_dir = configs[0].output_dir
    (output_dir / "summary.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    summary = output_dir / "summary.md"
    summary.write_text(summary_markdown(rows), encoding="utf-8")
    return summary
