"""results.md: one table per metric family, benchmarks as rows, numbers in percent as papers print them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rscovlm_eval.metrics.captioning import METRIC_NAMES


def pct(value: Any) -> str:
    """0.8123 -> '81.23'; missing -> '-'."""
    return "-" if value is None else f"{100 * float(value):.2f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


COUNTS = ["N", "Errors"]


def counts(result: dict[str, Any]) -> list[str]:
    """The N and Errors cells of a benchmark row: samples scored, samples that failed."""
    return [str(result["count"]), str(result.get("errors", {}).get("count", 0))]


def _columns(results: dict[str, dict[str, Any]], field: str) -> list[str]:
    return sorted({k for r in results.values() for k in r.get(field, {})})


def _classification(results: dict[str, dict[str, Any]]) -> str:
    rows = [[k, pct(r.get("accuracy")), pct(r.get("contain_accuracy")), *counts(r)] for k, r in results.items()]
    return _table(["Benchmark", "Acc", "Acc (contain)", *COUNTS], rows)


def _captioning(results: dict[str, dict[str, Any]]) -> str:
    rows = [[k, *(pct(r.get(m)) for m in METRIC_NAMES), *counts(r)] for k, r in results.items()]
    return _table(["Benchmark", *METRIC_NAMES, *COUNTS], rows)


def _vqa(results: dict[str, dict[str, Any]]) -> str:
    types = _columns(results, "per_type")
    rows = [
        [
            k,
            *(pct(r.get("per_type", {}).get(t, {}).get("accuracy")) for t in types),
            pct(r.get("average_accuracy")),
            pct(r.get("accuracy")),
            "-" if r.get("count_mae") is None else f"{r['count_mae']:.2f}",
            *counts(r),
        ]
        for k, r in results.items()
    ]
    return _table(["Benchmark", *types, "AA", "OA", "Count MAE", *COUNTS], rows)


def _grounding(results: dict[str, dict[str, Any]]) -> str:
    sizes = ("small", "medium", "large")
    rows = [
        [
            k,
            pct(r.get("acc@0.5")),
            pct(r.get("mean_iou")),
            *(pct(r.get("by_size", {}).get(s, {}).get("accuracy")) for s in sizes),
            *counts(r),
        ]
        for k, r in results.items()
    ]
    return _table(["Benchmark", "Acc@0.5 (IoU > 0.5)", "mIoU", *(f"Acc {s}" for s in sizes), *COUNTS], rows)


def _detection(results: dict[str, dict[str, Any]]) -> str:
    scored = {k: r for k, r in results.items() if "map_devkit" in r}
    rows = [
        [
            k,
            pct(r["map_devkit"]),
            pct(r["map_mmrotate"]),
            pct(r["map_nc"]["map"]),
            pct(r["mf1"]["f1"]),
            *counts(r),
        ]
        for k, r in scored.items()
    ]
    header = ["Benchmark", "mAP (DOTA devkit)", "mAP (mmrotate)", "mAP_nc", "mF1", *COUNTS]
    parts = [_table(header, rows)] if rows else []
    for k, r in scored.items():
        classes = list(r["per_class"])
        parts.append(
            f"AP per class, {k} (DOTA devkit, VOC07):\n\n"
            + _table(["Benchmark", *classes], [[k, *(pct(r["per_class"][c]["ap"]) for c in classes)]])
        )
    for k, r in results.items():
        if "task1" in r:
            parts.append(f"{k}: {r['objects']} objects on {r['images']} merged images, Task1 files in `{r['task1']}`")
    return "\n\n".join(parts)


def _lrs_vqa(results: dict[str, dict[str, Any]]) -> str:
    """OA and AA per image source (as the LRS-VQA paper reports them) with the zoom figures, then each benchmark's
    source x category accuracy table."""
    sources = _columns(results, "per_source")
    by_source = []
    for k, r in results.items():
        zoom = r.get("zoom", {})
        per_source = r["per_source"]
        by_source.append(
            [
                k,
                *(pct(per_source.get(s, {}).get(field)) for s in sources for field in ("accuracy", "average_accuracy")),
                pct(r.get("accuracy")),
                pct(r.get("average_accuracy")),
                pct(zoom.get("zoom_rate")),
                "-" if not zoom else f"{zoom['mean_rounds']:.2f}",
                *counts(r),
            ]
        )
    header = ["Benchmark", *(f"{s} {m}" for s in sources for m in ("OA", "AA")), "OA", "AA", "Zoom rate", "Rounds"]
    header += COUNTS
    parts = [_table(header, by_source)]
    for k, r in results.items():
        categories = sorted(r["per_category"])
        rows = [
            [source, *(pct(table["per_category"].get(c, {}).get("accuracy")) for c in categories)]
            for source, table in r["per_source"].items()
        ]
        rows.append(["all", *(pct(r["per_category"][c]["accuracy"]) for c in categories)])
        parts.append(f"Accuracy by source and question category, {k}:\n\n" + _table(["Source", *categories], rows))
    return "\n\n".join(parts)


def _referring(header: str, fields: tuple[str, ...]) -> Callable[[dict[str, dict[str, Any]]], str]:
    """A referring table: the overall figure named `header`, then one column per value of each grouping."""

    def table(results: dict[str, dict[str, Any]]) -> str:
        groups = [(field, v) for field in fields for v in _columns(results, field)]
        rows = [
            [
                k,
                pct(r.get("accuracy")),
                *(pct(r.get(field, {}).get(v, {}).get("accuracy")) for field, v in groups),
                str(r["count"]),
            ]
            for k, r in results.items()
        ]
        return _table(["Benchmark", header, *(v for _, v in groups), "N"], rows)

    return table


VHM_OTHER = {"mean_iou": "mIoU", "mean_ciou": "C-IoU", "average_cp": "CP", "average_cr": "CR", "cf1": "CF1"}


def _vhm(results: dict[str, dict[str, Any]]) -> str:
    """One row per suite: accuracy in percent, or MAE / MAPE for counting and measurement, and the other figures
    of the geometric and multi-label suites."""
    rows = []
    for k, r in results.items():
        for suite, s in r["per_suite"].items():
            mae = "-" if s.get("mae") is None else f"{s['mae']:.3f}"
            other = ", ".join(f"{name} {pct(s[key])}" for key, name in VHM_OTHER.items() if key in s) or "-"
            rows.append([k, suite, s["kind"], pct(s.get("accuracy")), mae, pct(s.get("mape")), other, str(s["count"])])
    return _table(["Benchmark", "Suite", "Rule", "Acc", "MAE", "MAPE (%)", "Other", "N"], rows)


def _multiple_choice(results: dict[str, dict[str, Any]]) -> str:
    categories = _columns(results, "per_category")
    rows = [
        [
            k,
            *(pct(r["per_category"].get(c, {}).get("accuracy")) for c in categories),
            pct(r.get("accuracy")),
            *counts(r),
        ]
        for k, r in results.items()
    ]
    return _table(["Benchmark", *categories, "Acc", *COUNTS], rows)


def _per_task(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        [k, task, s["metric"], pct(s["score"]), str(s["count"])]
        for k, r in results.items()
        for task, s in r.get("per_task", {}).items()
    ]
    return _table(["Benchmark", "Data set / task", "Metric", "Score", "N"], rows)


SECTIONS: dict[str, tuple[str, Callable[[dict[str, dict[str, Any]]], str]]] = {
    "classification": ("Scene classification", _classification),
    "captioning": ("Image captioning (pycocoevalcap, scores x100)", _captioning),
    "vqa": ("Visual question answering", _vqa),
    "grounding": ("Visual grounding", _grounding),
    "oriented_grounding": ("Oriented visual grounding (polygon IoU)", _grounding),
    "vhm": ("VHM-Eval", _vhm),
    "teochat": ("TEOChatlas (accuracy per data set / task)", _vqa),
    "teochat_temporal": ("TEOChatlas temporal tasks (TEOChat's metric per data set / task)", _per_task),
    "xlrs": ("XLRS-Bench VQA (accuracy per L3 task; AA = macro average over tasks)", _vqa),
    "multi_referring": (
        "Multi-object referring (GeoChat-Bench, upstream's matching)",
        _referring("Pr(F1=1, IoU=0.5)", ("per_objects", "per_size")),
    ),
    "geochat_grounding": (
        "GeoChat-Bench referring and grounding (GeoChat's accuracy@0.5 over ground-truth boxes)",
        _referring("Acc@0.5", ("per_size", "per_objects", "per_type")),
    ),
    "detection": ("Oriented object detection", _detection),
    "lrs_vqa": ("Ultra-high-resolution VQA (LRS-VQA)", _lrs_vqa),
    "multiple_choice": ("Multiple choice (MME-RealWorld remote sensing)", _multiple_choice),
}


def settings_lines(spec: dict[str, Any]) -> list[str]:
    """What the model was asked with and where each setting came from (the checkpoint's training settings, the eval
    config over them, or the defaults for a checkpoint without settings), then every override by name."""
    if "policy" not in spec:  # a run folder written before the settings were resolved into run.json
        return [f"Family {spec['family']}, coordinates {spec['convention']}."]
    policy, sources = spec["policy"], spec.get("sources", {})
    budgets = ", ".join(
        f"{kind[:-1]} {name} {b['min_pixels']:,}-{b['max_pixels']:,}"
        for kind in ("tasks", "datasets")
        for name, b in policy[kind].items()
    )
    lines = [
        f"Family {spec['family']}, coordinates {spec['convention']}. Pixels {policy['min_pixels']:,}-"
        f"{policy['max_pixels']:,} ({policy['convention']} resize, factor {policy['factor']}"
        + (f"; {budgets}" if budgets else "")
        + f"), from {sources.get('resolution', 'the run config')}; "
        f"prompts from {sources.get('render', 'the run config')}"
        f"; boxes asked as {spec['box_type']} (detection) and {spec['grounding_box_type']} (grounding), "
        f"{spec['style']} text."
    ]
    if spec.get("overrides"):
        lines.append("Settings that differ from the checkpoint's training settings:")
        lines.append("\n".join(f"- `{line}`" for line in spec["overrides"]))
    return lines


def results_markdown(results: dict[str, Any]) -> str:
    """The whole results.md text."""
    spec = results["spec"]
    parts = [f"# Evaluation of `{results['model']}`", *settings_lines(spec)]
    benchmarks = results["benchmarks"]
    groups = list(dict.fromkeys(r.get("group") for r in benchmarks.values()))
    for group in groups:
        level = "##" if group is None else "###"
        if group is not None:
            parts.append(f"## {group}")
            if results.get("groups", {}).get(group):
                parts.append(results["groups"][group])
        for metric, (title, table) in SECTIONS.items():
            chosen = {
                f"{k} (incomplete)" if r.get("incomplete") else k: r
                for k, r in benchmarks.items()
                if r["metric"] == metric and r.get("count") and r.get("group") == group
            }
            if chosen:
                parts += [f"{level} {title}", table(chosen)]
    problems = [
        f"- {k}: {r['errors']['count']} samples failed, {r['skipped_inputs']} inputs skipped while reading"
        + (" — incomplete: more failures than `inference.max_error_fraction` allows" if r.get("incomplete") else "")
        for k, r in results["benchmarks"].items()
        if r["errors"]["count"] or r["skipped_inputs"]
    ]
    if problems:
        parts += ["## Left out", *problems]
    if results.get("plots"):
        parts += ["## Plots", *(f"![{p}]({p})" for p in results["plots"])]
    return "\n\n".join(parts) + "\n"
