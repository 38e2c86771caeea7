"""`rscovlm-train validate`: resolve a config and its mixture without loading the model, and report what a run does."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rscovlm_train.config import ConfigError, TrainConfig
from rscovlm_train.deepspeed_config import deepspeed_config, zero_stage
from rscovlm_train.mixture import DatasetSummary, evaluation_image_problems, summarize
from rscovlm_train.preflight import problems as preflight_problems


@dataclass
class Validation:
    """The outcome of validating one config."""

    config: TrainConfig
    world_size: int
    datasets: list[DatasetSummary] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    packs: int | None = None  # with data.packing: the packs of epoch 0, from the length estimates

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(config: TrainConfig, world_size: int, image_sample: int | None = None) -> Validation:
    """Run every check; problems are collected, not raised. Every image file of every records file (training and
    evaluation) is looked for, or a random ``image_sample`` of each records file's images."""
    result = Validation(config, world_size, problems=preflight_problems(config))
    try:
        result.datasets = summarize(config.data, image_sample)
    except ConfigError as error:
        known = set(result.problems)
        result.problems += [problem for problem in error.problems if problem not in known]
    for index, summary in enumerate(result.datasets):
        problem = summary.images.problem(summary.name) if summary.images else None
        if problem:
            result.problems.append((f"data.mixture.datasets[{index}]", problem))
    result.problems += evaluation_image_problems(config, image_sample)
    try:
        config.optim.accumulation_steps(world_size)
    except ConfigError as error:
        result.problems += error.problems
    if config.data.packing and result.ok:
        try:
            result.packs = packs_per_epoch(config)
        except ValueError as error:
            result.problems.append(("data.packing", f"cannot plan the packs of epoch 0: {error}"))
    return result


def packs_per_epoch(config: TrainConfig) -> int:
    """The packs of epoch 0, all ranks together, planned like the run plans them (from the length estimates of the
    rendered samples, cached under OUTPUT_DIR/length_cache where the run finds them again)."""
    from rscovlm_model import load_processor

    from rscovlm_train.data import build_sampling

    _, sampler = build_sampling(config, load_processor(config.model.path, config.data.resolution), 0, 1)
    return len(sampler.epoch_packs(0))


def report(result: Validation) -> str:
    """A plain-text report: model, distributed setup, the mixture table, epoch size and visual-token estimate."""
    config, lines = result.config, []
    lines.append(f"model:        {config.model.path} (family {config.model.family}, dtype {config.model.dtype})")
    if config.distributed.deepspeed and not any(p == "distributed.deepspeed" for p, _ in result.problems):
        stage = zero_stage(deepspeed_config(config.distributed.deepspeed))
        lines.append(f"deepspeed:    {config.distributed.deepspeed} (ZeRO stage {stage})")
    if result.datasets:
        lines += ["", _mixture_table(result.datasets), ""]
        lines += _epoch_lines(result)
    return "\n".join(lines)


def _mixture_table(datasets: list[DatasetSummary]) -> str:
    total = sum(d.samples_per_epoch for d in datasets) or 1
    header = (
        f"{'data set':<28} {'sampling':>12} {'records':>10} {'samples/epoch':>14} {'share':>7} "
        f"{'visual tokens/sample':>21}"
    )
    rows = [header, "-" * len(header)]
    for d in datasets:
        share = 100 * d.samples_per_epoch / total
        rows.append(
            f"{d.name:<28} {d.rule:>12} {d.records:>10,} {d.samples_per_epoch:>14,} {share:>6.1f}% "
            f"{d.visual_tokens:>21,.0f}"
        )
    overrides = [f"{d.name:<28} {d.render}" for d in datasets if d.render]
    if overrides:
        rows += ["", "own render settings (over data.render):", *overrides]
    zooms = [d.zoom.line(d.name) for d in datasets if d.zoom]
    if zooms:
        rows += ["", "visual-cot records (chains made when they load):", *zooms]
    return "\n".join(rows)


def _epoch_lines(result: Validation) -> list[str]:
    """Epoch size; with the batch: optimiser steps per epoch (packs or samples / global batch, rounded up, as the
    samplers pad the last step), steps in total and the epochs they cover."""
    optim, samples = result.config.optim, sum(d.samples_per_epoch for d in result.datasets)
    tokens = sum(d.samples_per_epoch * d.visual_tokens for d in result.datasets)
    lines = [f"samples per epoch:      {samples:,}", f"visual tokens per epoch: ~{tokens:,.0f}"]
    unit, per_epoch = "samples", samples
    if result.packs is not None:
        unit, per_epoch = "packs", result.packs
        lines.append(f"packs per epoch:        {per_epoch:,} (epoch 0, rows of {result.config.data.max_length} tokens)")
    try:
        accumulation = optim.accumulation_steps(result.world_size)
    except ConfigError:
        return lines
    global_batch = optim.per_device_batch_size * accumulation * result.world_size
    steps = max(math.ceil(per_epoch / global_batch), 1)
    total = optim.max_steps or math.ceil(steps * optim.epochs)
    lines.append(
        f"world size {result.world_size}: global batch {global_batch} {unit} "
        f"({optim.per_device_batch_size} per device x {accumulation} accumulation), "
        f"{steps:,} optimiser steps per epoch, {total:,} in total ({total / steps:.2f} epochs)"
    )
    return lines
