"""Variants of a run: packed batches, LoRA adapters."""

from __future__ import annotations

import math

import pytest
from rscovlm_train.run import train

pytestmark = pytest.mark.slow


def test_a_packed_run_fills_its_rows_at_one_pack_per_device(tmp_path, demo_config_data, make_config, logged):
    datasets = [d for d in demo_config_data["data"]["mixture"]["datasets"] if d["name"] != "lrs_vqa_zoom"]
    config = make_config(
        demo_config_data,
        tmp_path / "packed",
        data={"packing": True, "max_length": 1024, "mixture": {"datasets": datasets}},
        optim={"max_steps": 4, "per_device_batch_size": 1},
        output={"save_steps": 4, "logging_steps": 2},
    )
    train(config)
    checkpoint = tmp_path / "packed" / "checkpoint-4"
    losses = logged(checkpoint, "loss")
    assert sorted(losses) == [2, 4] and all(math.isfinite(v) for v in losses.values())
    all_tasks = ("detection", "captioning", "classification")
    assert len([task for task in all_tasks if logged(checkpoint, f"loss_task/{task}")]) >= 2
    # one row per step, filled by several samples: the fill the real-token fraction (1.0 here) cannot show
    assert all(value >= 0.9 for value in logged(checkpoint, "row_fill").values())
    assert all(value > 1 for value in logged(checkpoint, "samples_per_step").values())
    assert set(logged(checkpoint, "real_token_fraction").values()) == {1.0}


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
