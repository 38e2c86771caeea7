"""`rscovlm-eval`: run an evaluation, list the benchmarks, rebuild a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rs_data.config_files import read_yaml, with_overrides

from rscovlm_eval.config import ConfigError, load_config
from rscovlm_eval.registry import BENCHMARKS

SET_HELP = "Override one config key, e.g. --set resolution.max_pixels=1003520 --set benchmarks.0.limit=10 (repeatable)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Evaluate a Qwen-VL checkpoint on remote-sensing benchmarks (every task) and write a report."""


@main.command()
@click.argument("config", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", type=click.Path(path_type=Path), help="Local checkpoint folder (overrides the config).")
@click.option("--benchmark", "benchmarks", help="Comma-separated benchmark names (see `rscovlm-eval list`).")
@click.option("--data-root", type=click.Path(path_type=Path), help="Base folder of the benchmarks' data.")
@click.option(
    "--data", "data", multiple=True, metavar="NAME=PATH", help="Data of one benchmark (default DATA_ROOT/NAME)."
)
@click.option("--output-dir", type=click.Path(path_type=Path), help="Where run folders are created.")
@click.option("--run-name", help="Run folder name (default: the model folder's name).")
@click.option("--batch-size", type=int, help="Samples per generate call.")
@click.option("--limit", type=int, help="Evaluate the first N samples of each benchmark.")
@click.option("--zoom/--no-zoom", default=None, help="Run the Zoom-in Chain on the UHR VQA benchmarks.")
@click.option("--rank", type=int, help="This process's shard (default $RANK or 0).")
@click.option("--world-size", type=int, help="Number of shards (default $WORLD_SIZE or 1).")
@click.option("--backend", type=click.Choice(["hf", "openai"]), help="hf: load the model here; openai: a server.")
@click.option("--base-url", help="openai: the server's API root, e.g. http://127.0.0.1:8000/v1.")
@click.option("--served-model", help="openai: the model name the server knows (default: its only model).")
@click.option("--concurrency", type=int, help="openai: requests in flight.")
@click.option("--retry-errors/--no-retry-errors", default=None, help="Predict again samples cached with an error.")
@click.option("--wait-for-lock", is_flag=True, default=None, help="Wait while another run predicts a shard.")
@click.option(
    "--checkpoints",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Evaluate these checkpoints (a training folder: each checkpoint-*), one run folder each, and summarise.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def run(
    config: Path | None, benchmarks: str | None, data: tuple[str, ...], overrides: tuple[str, ...], **options: Any
) -> None:
    """Evaluate: `run CONFIG.yaml`, or `run --model PATH --benchmark NAME[,...] [--data-root DIR]`.

    Options given here override the config file. Pixel budgets and prompts default to the ones the checkpoint was
    trained with (its rscovlm_settings.json); what the config changes is named in the report. Predictions already
    cached in the run folder are reused.
    """
    from rscovlm_eval.backends import BackendError
    from rscovlm_eval.cache import CacheError, LockedError
    from rscovlm_eval.checkpoints import evaluate_checkpoints
    from rscovlm_eval.runner import run_evaluation

    try:
        source: dict[str, Any] = {} if config is None else read_yaml(config)
        source = with_overrides(source, overrides, None if config is None else str(config))
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    picked = {key: options.pop(option) for key, option in INFERENCE_OPTIONS.items()}
    inference = {key: value for key, value in picked.items() if value is not None}
    if inference:
        source["inference"] = {**source.get("inference", {}), **inference}
    checkpoints = options.pop("checkpoints")
    paths = dict(_pair(item) for item in data)
    limit, zoom = options.pop("limit"), options.pop("zoom")
    batch_size = options.pop("batch_size")
    if benchmarks:
        source["benchmarks"] = [{"name": n.strip()} for n in benchmarks.split(",") if n.strip()]
    for bench in source.get("benchmarks", []):
        if bench.get("name") in paths:
            bench["data"] = paths[bench["name"]]
        if limit is not None:
            bench["limit"] = limit
        if zoom is not None and bench.get("name") in BENCHMARKS and BENCHMARKS[bench["name"]].task == "uhr_vqa":
            bench["zoom"] = zoom
    if batch_size is not None:
        source.setdefault("generation", {})["batch_size"] = batch_size
    try:
        if checkpoints:
            summary = evaluate_checkpoints(source, checkpoints, **options)
            click.echo(f"summary: {summary}")
            return
        run_dir = run_evaluation(load_config(source, **options))
    except (ConfigError, CacheError, LockedError, BackendError) as error:
        raise click.ClickException(str(error)) from error
    report = run_dir / "results.md"
    click.echo(f"report: {report}" if report.exists() else f"predictions in {run_dir}; report after every shard")


INFERENCE_OPTIONS = {  # `inference:` field <- command-line option
    "backend": "backend",
    "base_url": "base_url",
    "model": "served_model",
    "concurrency": "concurrency",
    "retry_errors": "retry_errors",
    "wait_for_lock": "wait_for_lock",
}


def _pair(item: str) -> tuple[str, str]:
    name, sep, path = item.partition("=")
    if not sep or not name or not path:
        raise click.BadParameter(f"expected NAME=PATH, got {item!r}", param_hint="--data")
    return name, path


@main.command(name="list")
def list_benchmarks() -> None:
    """List the benchmarks: task, metric and the data each expects."""
    for bench in BENCHMARKS.values():
        extra = " (no labels: Task1 export)" if bench.export_only else ""
        click.echo(f"{bench.name:<18} {bench.task:<15} {bench.metric:<16} reader={bench.reader}{extra}")
        click.echo(f"{'':<18} {bench.expects}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--html", is_flag=True, help="Also write report.html: tables, plots and a gallery of drawn samples.")
@click.option("--repair", is_flag=True, help="First drop the damaged lines of the cache files (each is listed).")
def report(run_dir: Path, no_plots: bool, html: bool, repair: bool) -> None:
    """Merge the shards of RUN_DIR, score every benchmark and write results.json, results.md and plots."""
    from rscovlm_eval.cache import CacheError, LockedError, repair_run
    from rscovlm_eval.report import IncompleteRunError, write_report

    try:
        if repair:
            for dropped in repair_run(run_dir):
                click.echo(f"dropped {dropped}")
        write_report(run_dir, plots=not no_plots, html=html)
    except (IncompleteRunError, FileNotFoundError, CacheError, LockedError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"report: {run_dir / ('report.html' if html else 'results.md')}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("sample_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The PNG to write.")
@click.option("--benchmark", help="The benchmark (its key in the run) when several hold SAMPLE_ID.")
@click.option("--max-side", type=int, default=1600, show_default=True, help="Longer side of the drawn image.")
def show(run_dir: Path, sample_id: str, out: Path, benchmark: str | None, max_side: int) -> None:
    """Draw one sample of RUN_DIR as a PNG figure: ground truth and prediction boxes, labels and zoom crops."""
    from rscovlm_eval.drawing import sample_figure
    from rscovlm_eval.samples import find_view

    try:
        view = find_view(run_dir, sample_id, benchmark)
        figure = sample_figure(view, max_side)
    except (KeyError, FileNotFoundError, ValueError, OSError) as error:
        raise click.ClickException(str(error.args[0] if isinstance(error, KeyError) else error)) from error
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.save(out)
    outcome = {True: "correct", False: "wrong", None: "not scored per sample"}[view.correct]
    click.echo(
        f"{out}: {view.benchmark} / {view.id} ({outcome}), {len(view.truth)} truth and "
        f"{len(view.prediction)} predicted shapes, {len(view.windows)} zoom crops"
    )


if __name__ == "__main__":
    sys.exit(main())
