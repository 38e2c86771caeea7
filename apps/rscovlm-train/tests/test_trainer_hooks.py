"""The transformers internals `CoTrainer` overrides or reads exist with the signatures it was written against, so an
upgrade of transformers fails here instead of in a run; the scheduler settings build a scheduler."""

from __future__ import annotations

import inspect

import pytest
import torch
import transformers
from rscovlm_train.run import Ranks, training_arguments
from rscovlm_train.trainer import CoTrainer
from transformers import Trainer, get_scheduler
from transformers.trainer_utils import rotate_checkpoints, seed_worker

# method -> the parameter names transformers' Trainer gives it (what CoTrainer's override receives)
OVERRIDDEN = {
    "_get_train_sampler": ["self", "train_dataset"],
    "_load_from_checkpoint": ["self", "resume_from_checkpoint", "model"],
    "_get_learning_rate": ["self"],
    "_get_output_dir": ["self", "trial"],
    "_save_checkpoint": ["self", "model", "trial"],
    "create_optimizer": ["self", "model"],
    "compute_loss": ["self", "model", "inputs", "return_outputs", "num_items_in_batch"],
    "get_train_dataloader": ["self"],
    "log": ["self", "logs", "start_time"],
}


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_overridden_trainer_methods_keep_their_signature(name: str) -> None:
    assert name in vars(CoTrainer), f"CoTrainer no longer overrides {name}"
    assert list(inspect.signature(getattr(Trainer, name)).parameters) == OVERRIDDEN[name]


def test_trainer_internals_read_by_cotrainer_exist() -> None:
    source = inspect.getsource(Trainer)
    # the loss is scaled here, not by the Trainer; the accumulation count and the loss-kwargs switch it reads
    for attribute in ("loss_is_scaled_for_ga", "current_gradient_accumulation_steps", "model_accepts_loss_kwargs"):
        assert f"self.{attribute}" in source, attribute
    # resume: the Trainer skips the trained batches of the epoch (the samplers restart it) and sets the epoch on a
    # batch sampler behind accelerate's shard wrapper
    assert "skip_first_batches(train_dataloader, steps_trained_in_current_epoch)" in source
    assert "underlying_sampler.set_epoch(epoch)" in source
    assert list(inspect.signature(rotate_checkpoints).parameters)[:4] == [
        "output_dir",
        "save_total_limit",
        "best_model_checkpoint",
        "use_mtime",
    ]
    assert list(inspect.signature(seed_worker).parameters) == ["worker_id", "num_workers", "rank"]


def test_transformers_is_the_pinned_minor_series() -> None:
    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    assert (major, minor) == (5, 24)


def test_cosine_with_min_lr_ends_at_the_min_lr_rate(demo_config_data, make_config, tmp_path) -> None:
    config = make_config(
        demo_config_data, tmp_path, optim={"scheduler": "cosine_with_min_lr", "min_lr_rate": 0.25, "warmup_ratio": 0}
    )
    args = training_arguments(config, Ranks(0, 1))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.optim.lr)
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=0,
        num_training_steps=10,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert scheduler.get_last_lr()[0] == pytest.approx(config.optim.lr * 0.25)
