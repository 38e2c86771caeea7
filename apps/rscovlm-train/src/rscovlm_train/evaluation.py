"""Evaluation of the final checkpoint with rscovlm-eval, as the config's ``evaluation`` section asks."""

from __future__ import annotations

from pathlib import Path

from rscovlm_eval import EvalConfig, run_evaluation

from rscovlm_train.config import TrainConfig

EVAL_DIR = "eval"


def evaluation_config(config: TrainConfig, checkpoint: Path) -> EvalConfig:
    """The eval app's config for ``checkpoint``: the section's settings, with the training pixel budget by default."""
    section = config.evaluation
    if section is None:
        raise ValueError("the config has no evaluation section")
    values = section.model_dump()
    values.update(model=checkpoint, family=config.model.family, rank=0, world_size=1)
    values["output_dir"] = section.output_dir or config.output.dir / EVAL_DIR
    values["run_name"] = section.run_name or config.output.run_name or config.output.dir.name
    if section.resolution is None:
        policy = config.data.resolution
        values["resolution"] = {
            "min_pixels": policy.min_pixels,
            "max_pixels": policy.max_pixels,
            "datasets": {name: (b.min_pixels, b.max_pixels) for name, b in policy.datasets.items()},
            "tasks": {name: (b.min_pixels, b.max_pixels) for name, b in policy.tasks.items()},
        }
    return EvalConfig.model_validate(values)


def evaluate_final(config: TrainConfig, checkpoint: Path) -> Path:
    """Run the configured benchmarks on ``checkpoint``; returns the folder holding the report."""
    return run_evaluation(evaluation_config(config, checkpoint))
