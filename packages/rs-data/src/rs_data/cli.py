"""`rs-data`: convert public formats into dataset directories, report their statistics, preview conversations.

Every option can also come from a YAML file given with `--config` (keys are the option names with `_`); options on
the command line win.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
import yaml
from rs_resolution import ResolutionPolicy

from rs_data.convert import RECORDS_FILE, StrictModeError, convert
from rs_data.dataset import RecordStore
from rs_data.readers import READERS
from rs_data.render import RenderConfig, render
from rs_data.split import SplitConfig
from rs_data.staging import remove_stale, staging_folders
from rs_data.stats import dataset_stats, stats_markdown


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        data = yaml.safe_load(Path(value).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise click.BadParameter(f"{value}: expected a mapping of option names to values")
        ctx.default_map = {**(ctx.default_map or {}), **data}
    return value


CONFIG_OPTION = click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    callback=_load_config,
    is_eager=True,
    expose_value=False,
    help="YAML file with default values for these options.",
)


def _parse_options(pairs: tuple[str, ...] | list[str] | dict) -> dict[str, Any]:
    if isinstance(pairs, dict):
        return pairs
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--option")
        options[key.replace("-", "_")] = yaml.safe_load(value)
    return options


@click.group()
def main() -> None:
    """Remote-sensing data engine: read public formats, split, mix and render conversations."""


@main.command("formats")
def formats() -> None:
    """List the formats `convert` reads."""
    for name, reader in sorted(READERS.items()):
        click.echo(f"{name:16s} {reader.description}")


@main.command("convert")
@CONFIG_OPTION
@click.argument("format", type=click.Choice(sorted(READERS)))
@click.argument("src", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Dataset directory to write.")
@click.option("--option", "-o", "options", multiple=True, help="Reader option KEY=VALUE (e.g. -o split=test).")
@click.option("--workers", default=os.cpu_count() or 1, show_default=True, help="Processes to use.")
@click.option("--split-size", type=int, default=None, help="Cut detection images into windows of this size.")
@click.option(
    "--split-style",
    type=click.Choice(["devkit", "mmrotate"]),
    default="devkit",
    show_default=True,
    help="Reproduce DOTA_devkit's ImgSplit or mmrotate's img_split.py (names, cut objects, padding).",
)
@click.option("--split-gap", type=int, default=200, show_default=True, help="Overlap between windows.")
@click.option("--split-rates", default="1", show_default=True, help="Comma-separated scale rates, e.g. 1,0.5.")
@click.option(
    "--split-threshold",
    type=float,
    default=0.7,
    show_default=True,
    help="devkit: kept-area fraction at or below which a cut object is difficult 2; mmrotate: the iof an object "
    "needs to be kept.",
)
@click.option("--keep-empty", type=float, default=1.0, show_default=True, help="Fraction of empty patches kept.")
@click.option("--strict", is_flag=True, help="Fail instead of skipping bad records.")
def convert_command(
    format: str,
    src: str,
    out_dir: str,
    options,
    workers: int,
    split_size: int | None,
    split_style: str,
    split_gap: int,
    split_rates: str,
    split_threshold: float,
    keep_empty: float,
    strict: bool,
) -> None:
    """Convert SRC in FORMAT into records.jsonl + manifest.json under --out."""
    split = None
    if split_size is not None:
        rates = [float(r) for r in str(split_rates).split(",")]
        split = SplitConfig(
            style=split_style,
            size=split_size,
            gap=split_gap,
            rates=rates,
            threshold=split_threshold,
            keep_empty=keep_empty,
        )
    try:
        manifest = convert(format, src, out_dir, _parse_options(options), split, workers, strict, progress=True)
    except (StrictModeError, ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{manifest['records']} records {manifest['tasks']} -> {Path(out_dir) / 'records.jsonl'}")
    if manifest["skipped"]["count"]:
        click.echo(f"skipped {manifest['skipped']['count']}: {manifest['skipped']['by_reason']}", err=True)


@main.command("stats")
@CONFIG_OPTION
@click.argument("dataset", type=click.Path(exists=True))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML ResolutionPolicy (factor, min_pixels, max_pixels, datasets, tasks).",
)
@click.option("--factor", type=int, default=None, help="Patch factor (28 Qwen2.5-VL, 32 Qwen3-VL).")
@click.option("--min-pixels", type=int, default=None)
@click.option("--max-pixels", type=int, default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of Markdown.")
def stats_command(
    dataset: str,
    policy_file: str | None,
    factor: int | None,
    min_pixels: int | None,
    max_pixels: int | None,
    as_json: bool,
) -> None:
    """Counts per task, class histogram, image sizes and visual-token cost of DATASET (a directory or JSONL)."""
    fields = yaml.safe_load(Path(policy_file).read_text()) if policy_file else {}
    overrides = {"factor": factor, "min_pixels": min_pixels, "max_pixels": max_pixels}
    fields.update({k: v for k, v in overrides.items() if v is not None})
    try:
        stats = dataset_stats(dataset, ResolutionPolicy(**fields))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(stats, indent=2) if as_json else stats_markdown(stats))


@main.command("clean-staging")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--other-hosts", is_flag=True, help="Also remove folders of conversions on other hosts once idle.")
@click.option(
    "--idle-minutes",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="With --other-hosts: how long nothing in such a folder may have changed.",
)
def clean_staging_command(out_dir: str, other_hosts: bool, idle_minutes: float) -> None:
    """Remove the staging folders that conversions into OUT_DIR left behind (never one still being written)."""
    removed = remove_stale(Path(out_dir), idle_minutes * 60 if other_hosts else None)
    for folder in removed:
        click.echo(f"removed {folder.path.name} ({folder.owner})")
    for folder in staging_folders(Path(out_dir)):
        click.echo(f"kept {folder.describe()}")


@main.command("show")
@click.argument("dataset", type=click.Path(exists=True))
@click.option("--index", default=0, show_default=True, help="Which record to render.")
@click.option(
    "--convention",
    type=click.Choice(["absolute", "relative1000", "relative100", "relative1"]),
    default="absolute",
    show_default=True,
    help="Coordinate convention of the box text.",
)
@click.option("--max-pixels", type=int, default=None, help="Pixel budget of the resolution policy.")
@click.option("--seed", default=0, show_default=True, help="Seed of the render choices (box type, style, ...).")
def show_command(dataset: str, index: int, convention: str, max_pixels: int | None, seed: int) -> None:
    """Print record INDEX of DATASET (a directory or JSONL) rendered as Qwen-style messages."""
    path = Path(dataset)
    try:
        store = RecordStore(path / RECORDS_FILE if path.is_dir() else path)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if not 0 <= index < len(store):
        raise click.ClickException(f"index {index} out of range: {len(store)} records")
    policy = ResolutionPolicy(**({"max_pixels": max_pixels} if max_pixels else {}))
    sample = render(store[index], policy, RenderConfig(convention=convention), np.random.default_rng(seed))
    click.echo(json.dumps(sample.messages, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
