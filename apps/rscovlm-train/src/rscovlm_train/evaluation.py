"""Evaluation of the final checkpoint with rscovlm-eval, as the config's ``evaluation`` section asks."""

from __future__ import annotations

from pathlib import Path

import yaml
from rscovlm_eval import EvalConfig, run_evaluation
from rscovlm_eval.config import load_config

from rscovlm_train.config import TrainConfig

EVAL_DIR = "eval"
EVAL_CONFIG_NAME = "eval.yaml"  # in OUTPUT_DIR: `rscovlm-eval run OUTPUT_DIR/eval.yaml` repeats the evaluation


def evaluation_config(config: TrainConfig, checkpoint: Path) -> EvalConfig:
    """The eval app's config for ``checkpoint``: the section's settings with the model, family and folders filled in.

    Pixel budgets and prompts are not copied: rscovlm-eval reads them from the checkpoint's settings file, as it
    does for any checkpoint this app wrote; what the section sets explicitly replaces them (and is reported)."""
    section = config.evaluation
    if section is None:
        raise ValueError("the config has no evaluation section")
    values = section.model_dump(mode="json", exclude_unset=True)
    values.update(model=str(checkpoint), family=config.model.family, rank=0, world_size=1)
    values["output_dir"] = str(section.output_dir or config.output.dir / EVAL_DIR)
    values["run_name"] = section.run_name or config.output.run_name or config.output.dir.name
    return load_config(values)


def write_evaluation_config(config: TrainConfig, checkpoint: Path) -> Path:
    """Save the evaluation of ``checkpoint`` as an rscovlm-eval config file in OUTPUT_DIR; returns its path."""
    path = config.output.dir / EVAL_CONFIG_NAME
    values = evaluation_config(config, checkpoint).model_dump(mode="json", exclude_unset=True)
    for shard_setting in ("rank", "world_size"):  # taken from the environment when the file is run
        values.pop(shard_setting)
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return path


def evaluate_final(config: TrainConfig, checkpoint: Path) -> Path:
    """Run the configured benchmarks on ``checkpoint``; returns the folder holding the report."""
    return run_evaluation(load_config(write_evaluation_config(config, checkpoint), rank=0, world_size=1))
