"""Variants of a run: packed batches, LoRA adapters."""

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


def test_a_lora_run_saves_a_merged_plain_checkpoint(tmp_path, demo_dir, demo_config_data, make_config):
    import torch
    from rscovlm_model import load_model

    config = make_config(
        demo_config_data,
        tmp_path / "lora",
        model={"lora": {"r": 4, "alpha": 8}},
        optim={"max_steps": 2},
        output={"save_steps": 2, "logging_steps": 1},
    )
    final = train(config).final
    assert (tmp_path / "lora" / "checkpoint-2" / "adapter_model.safetensors").is_file()
    merged, base = load_model(final, dtype="float32"), load_model(demo_dir / "model", dtype="float32")
    merged_weights, base_weights = merged.state_dict(), base.state_dict()
    assert merged_weights.keys() == base_weights.keys()
    changed = [name for name in base_weights if not torch.equal(merged_weights[name], base_weights[name])]
    # adapters on the language model's layers, merged in; the merger trains in full; the rest is frozen
    assert changed and all("language_model.layers" in name or "visual.merger" in name for name in changed)
    assert not any("visual.blocks" in name or "embed_tokens" in name for name in changed)
