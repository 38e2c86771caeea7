"""Dataset statistics: per-task counts, class histogram, image sizes and the visual-token cost under a policy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rs_resolution import ResolutionPolicy, visual_tokens

from rs_data.convert import RECORDS_FILE, summarize
from rs_data.schema import read_records
from rs_data.staging import staging_folders


def dataset_stats(path: str | Path, policy: ResolutionPolicy | None = None) -> dict[str, Any]:
    """Statistics of a dataset directory (or a records file); token cost uses `policy` (default: Qwen defaults).
    `staging_folders` describes the `.staging-*` folders conversions left beside the records."""
    path = Path(path)
    records = list(read_records(path / RECORDS_FILE if path.is_dir() else path))
    staging = [folder.describe() for folder in staging_folders(path if path.is_dir() else path.parent)]
    policy = policy or ResolutionPolicy()
    tokens: list[int] = []
    per_task: Counter[str] = Counter()
    for record in records:
        for image in record.images:
            height, width = policy.resized_size(image.height, image.width, record.dataset, record.task)
            count = visual_tokens(height, width, policy.factor)
            tokens.append(count)
            per_task[record.task] += count
    stats = summarize(records, [])
    del stats["skipped"]
    stats["visual_tokens"] = {
        "policy": policy.model_dump(),
        "total": sum(tokens),
        "mean_per_image": round(sum(tokens) / len(tokens), 2) if tokens else 0,
        "max_per_image": max(tokens, default=0),
        "per_task": dict(per_task),
    }
    stats["staging_folders"] = staging
    return stats


def stats_markdown(stats: dict[str, Any]) -> str:
    """A short human-readable report of `dataset_stats`."""
    lines = [f"records: {stats['records']}", "", "| task | records | visual tokens |", "|---|---|---|"]
    tokens = stats["visual_tokens"]["per_task"]
    lines += [f"| {task} | {count} | {tokens.get(task, 0)} |" for task, count in sorted(stats["tasks"].items())]
    images = stats["images"]
    lines += ["", f"images: {images['count']}, width {images['width']}, height {images['height']}"]
    vt = stats["visual_tokens"]
    lines += [f"visual tokens: total {vt['total']}, mean {vt['mean_per_image']}, max {vt['max_per_image']} per image"]
    lines += [f"leftover staging folder: {folder}" for folder in stats["staging_folders"]]
    if stats["classes"]:
        lines += ["", "| class | count |", "|---|---|"]
        lines += [f"| {name} | {count} |" for name, count in sorted(stats["classes"].items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)
