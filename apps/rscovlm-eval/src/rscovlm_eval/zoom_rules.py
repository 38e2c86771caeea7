"""Which questions run the Zoom-in Chain: upstream RSCoVLM answers some categories (counting) without zooming."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rs_data import Record

from rscovlm_eval.config import BenchmarkConfig
from rscovlm_eval.registry import get_benchmark


def zoom_skip_categories(bench: BenchmarkConfig) -> list[str]:
    """The benchmark's categories answered without the chain: the config's list, else the registry's."""
    chosen = bench.zoom_skip_categories
    return sorted(get_benchmark(bench.name).zoom_skip_categories if chosen is None else chosen)


def _category(record: Record) -> str:
    question_type = getattr(record.annotation, "question_type", None)
    return (question_type or "").strip().lower()


def zoom_groups(records: Sequence[Record], zoom: bool, skip: Collection[str]) -> list[tuple[list[Record], bool]]:
    """The records split into (records, zoom) groups: with zoom on, the skipped categories go without the chain."""
    skip = {c.strip().lower() for c in skip}
    if not zoom or not skip:
        return [(list(records), zoom)] if records else []
    chained = [r for r in records if _category(r) not in skip]
    plain = [r for r in records if _category(r) in skip]
    return [(group, flag) for group, flag in ((chained, True), (plain, False)) if group]
