"""Checks that need the file system: the model checkpoint, records files, DeepSpeed config, benchmark names.

Every problem is reported with the field path it comes from, all at once, before anything heavy is loaded.
"""

from __future__ import annotations

import importlib.util

from rscovlm_eval.registry import BENCHMARKS
from rscovlm_model.families import FAMILY_SPECS, detect_family

from rscovlm_train.config import ConfigError, TrainConfig
from rscovlm_train.deepspeed_config import deepspeed_config, zero_stage
from rscovlm_train.mixture import missing_files


def model_problems(config: TrainConfig) -> list[tuple[str, str]]:
    """The checkpoint exists, is a supported family, and matches the configured family, factor and convention."""
    path = config.model.path
    if not path.exists():
        return [("model.path", f"{path} does not exist (give a local Hugging Face checkpoint folder)")]
    try:
        family = detect_family(path)
    except ValueError as error:
        return [("model.path", str(error))]
    if config.model.family not in ("auto", family):
        return [("model.family", f"{config.model.family!r} was asked for but {path} is {family!r}")]
    spec, problems = FAMILY_SPECS[family], []
    if config.data.resolution.factor != spec.factor:
        problems.append(
            (
                "data.resolution.factor",
                f"{config.data.resolution.factor} does not match {family} (factor {spec.factor})",
            )
        )
    renders = [("data.render", config.data.render)] + [
        (f"data.mixture.datasets[{index}].render", entry.render)
        for index, entry in enumerate(config.data.mixture.datasets)
        if entry.render is not None and "convention" in entry.render.model_fields_set
    ]
    for where, render in renders:
        if render.convention != spec.convention:
            problems.append(
                (
                    f"{where}.convention",
                    f"{render.convention!r} is not {family}'s coordinate convention {spec.convention!r}",
                )
            )
    return problems


def deepspeed_problems(config: TrainConfig) -> list[tuple[str, str]]:
    """The DeepSpeed config can be read, and LoRA is not asked for under ZeRO-3."""
    name = config.distributed.deepspeed
    if name is None:
        return []
    try:
        stage = zero_stage(deepspeed_config(name))
    except ValueError as error:
        return [("distributed.deepspeed", str(error))]
    if config.model.lora is not None and stage == 3:
        message = (
            f"LoRA cannot train under ZeRO-3 (distributed.deepspeed {name!r}): the final checkpoint folds the "
            "adapters into the base weights, which ZeRO-3 keeps partitioned over the processes; use zero2 or zero1 "
            "with LoRA, or train without it"
        )
        return [("model.lora", message)]
    return []


def problems(config: TrainConfig) -> list[tuple[str, str]]:
    """Every problem found, as ``(field path, message)``."""
    found = model_problems(config) + missing_files(config.data) + deepspeed_problems(config)
    if "wandb" in config.output.report_to and importlib.util.find_spec("wandb") is None:
        found.append(("output.report_to", "wandb is not installed (pip install wandb) or leave it out"))
    for index, benchmark in enumerate(config.evaluation.benchmarks if config.evaluation else []):
        if benchmark.name not in BENCHMARKS:
            found.append((f"evaluation.benchmarks[{index}].name", f"unknown benchmark {benchmark.name!r}"))
    return found


def raise_on_problems(config: TrainConfig) -> None:
    """Raise `ConfigError` listing every problem, if there is any."""
    found = problems(config)
    if found:
        raise ConfigError(found)
