"""Packed batches train too: each batch's samples share one sequence, losses still land on their task."""

from __future__ import annotations

import math

import pytest
from rscovlm_train.run import train

pytestmark = pytest.mark.slow


def test_a_packed_run_logs_losses_per_task(tmp_path, demo_config_data, make_config, logged):
    config = make_config(
        demo_config_data,
        tmp_path / "packed",
        data={"packing": True, "max_length": 2048},
        optim={"max_steps": 4, "per_device_batch_size": 3},
        output={"save_steps": 4, "logging_steps": 2},
    )
    train(config)
    checkpoint = tmp_path / "packed" / "checkpoint-4"
    losses = logged(checkpoint, "loss")
    assert sorted(losses) == [2, 4] and all(math.isfinite(v) for v in losses.values())
    all_tasks = ("detection", "captioning", "uhr_vqa", "classification")
    assert len([task for task in all_tasks if logged(checkpoint, f"loss_task/{task}")]) >= 2
    assert all(0 < value <= 1 for value in logged(checkpoint, "real_token_fraction").values())
