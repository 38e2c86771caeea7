"""`rscovlm-train`: co-train one Qwen-VL model on a weighted remote-sensing mixture."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from rscovlm_train.config import ConfigError, TrainConfig, load_config

SET_HELP = "Override one config key, e.g. --set optim.lr=1e-5 --set data.mixture.datasets.0.weight=2 (repeatable)."


def _load(config_path: Path, overrides: tuple[str, ...]) -> TrainConfig:
    try:
        return load_config(config_path, overrides)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Co-train one Qwen-VL model on a weighted mixture of remote-sensing tasks.

    \b
    Typical use:
      rscovlm-train demo                                   # everything on a tiny model, a few minutes on a CPU
      rscovlm-train validate configs/rscovlm-qwen2.5vl-7b.yaml --set model.path=/models/Qwen2.5-VL-7B-Instruct
      rscovlm-train run configs/rscovlm-qwen2.5vl-7b.yaml --set model.path=/models/Qwen2.5-VL-7B-Instruct
      scripts/train_multinode.sh CONFIG.yaml ...            # N nodes x M GPUs with torchrun

    A config is one YAML file with the sections model, data, optim, distributed, output and (optionally)
    evaluation; unknown keys are errors. Records files come from `rs-data convert`. Re-running the same command
    resumes from the newest complete checkpoint in output.dir.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def run(config_path: Path, overrides: tuple[str, ...]) -> None:
    """Train (or resume) with CONFIG.yaml; writes checkpoints and OUTPUT_DIR/final, then evaluates if asked."""
    from rscovlm_train.run import train

    config = _load(config_path, overrides)
    try:
        result = train(config)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"final checkpoint: {result.final}")
    if result.report is not None:
        click.echo(f"evaluation report: {result.report}")


@main.command()
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option(
    "--world-size",
    type=click.IntRange(min=1),
    default=lambda: int(os.environ.get("WORLD_SIZE", 1)),
    show_default="$WORLD_SIZE or 1",
    help="Number of training processes (GPUs), for batch and step counts.",
)
@click.option(
    "--sample-images",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Look for a random N image files of each records file instead of all of them (for huge sets).",
)
def validate(config_path: Path, overrides: tuple[str, ...], world_size: int, sample_images: int | None) -> None:
    """Check CONFIG.yaml without training: every field, the model folder, records files, their image files (and
    the evaluation section's data and images) and the mixture.

    Prints the mixture (records, samples per epoch, share, visual tokens per sample) and the epoch's size;
    exits with status 1 and one line per problem (field path: message) if anything is wrong.
    """
    from rscovlm_train.validate import report, validate

    result = validate(_load(config_path, overrides), world_size, sample_images)
    click.echo(report(result))
    if not result.ok:
        click.echo(f"\n{config_path}: {len(result.problems)} problem(s):", err=True)
        for path, message in result.problems:
            click.echo(f"  {path}: {message}", err=True)
        sys.exit(1)
    click.echo(f"\n{config_path}: OK")


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs/demo"),
    show_default=True,
    help="Folder for the demo data, tiny model, checkpoints and report (re-running resumes).",
)
def demo(out: Path) -> None:
    """Run the whole pipeline on a bundled mini data set and a tiny model (no download, a few minutes on a CPU).

    Converts small real annotation files of DOTA, DIOR-R, DIOR-RSVG, HRSC2016, Sydney-captions and LRS-VQA (and a
    generated scene-classification set) with rs-data, co-trains the tiny Qwen2.5-VL on the mixture, then evaluates
    the held-out samples of every task with rscovlm-eval and prints where the report is.
    """
    from rscovlm_train.demo import run_demo

    report = run_demo(out)
    click.echo(
        f"\ndemo finished; report: {report / 'results.md'} and {report / 'report.html'} "
        f"(all numbers: {report / 'results.json'})"
    )
