"""The token-budget packed loader: per-sample losses of a packed batch equal each sample's loss alone, credited to
the right task by position, and the benchmark runs on the loader at tiny scale."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import torch
from rscovlm_model import PackingCollator, PaddingCollator, load_model, load_processor
from rscovlm_train.collate import META_KEY, TrainingCollator
from rscovlm_train.data import build_sampling
from rscovlm_train.losses import GroupLosses, add_sample_losses, token_losses

pytestmark = pytest.mark.slow


def short_and_long_mixture(demo_config_data) -> dict:
    """The demo mixture of detection, captioning and classification (without the LRS-VQA-Zoom records)."""
    datasets = [d for d in demo_config_data["data"]["mixture"]["datasets"] if d["name"] != "lrs_vqa_zoom"]
    return {"datasets": datasets}


def _losses(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = {k: v for k, v in batch.items() if k not in (META_KEY, "labels")}
    with torch.no_grad():
        logits = model(**inputs).logits
    return token_losses(logits, batch["labels"])


def test_packed_loader_batches_score_every_sample_as_alone(demo_dir, demo_config_data, make_config, tmp_path):
    config = make_config(
        demo_config_data,
        tmp_path,
        data={"packing": True, "max_length": 1024, "mixture": short_and_long_mixture(demo_config_data)},
        optim={"per_device_batch_size": 1},
    )
    processor = load_processor(config.model.path, config.data.resolution)
    model = load_model(config.model.path, dtype="float32", attn_implementation="sdpa")
    dataset, sampler = build_sampling(config, processor, rank=0, world_size=1)
    packed, alone = TrainingCollator(PackingCollator(model, 1024, 0)), TrainingCollator(PaddingCollator(0))
    batch_keys = next(keys for keys in sampler if len({dataset.dataset_name(key) for _, key, _ in keys}) > 2)
    items = [dataset[key] for key in batch_keys]
    assert len(items) > 1 and len({item.task for item in items}) > 1
    batch = packed(items)
    assert batch[META_KEY]["rows"] == 1 and batch["input_ids"].shape[1] <= 1024
    losses, scored = _losses(model, batch)
    meter = GroupLosses()
    groups = [[f"sample/{i}", f"task/{item.task}"] for i, item in enumerate(items)]
    add_sample_losses(meter, losses, scored, batch[META_KEY]["sample_index"], groups)
    expected = GroupLosses()
    for index, item in enumerate(items):
        single = alone([item])
        one_losses, one_scored = _losses(model, single)
        one_scored[:, 1] = False  # packing ignores every sample's first label (none of these supervises it)
        names = [[f"sample/{index}", f"task/{item.task}"]]
        add_sample_losses(expected, one_losses, one_scored, single[META_KEY]["sample_index"], names)
    assert meter.counts == expected.counts
    for name, value in expected.sums.items():
        assert meter.sums[name] == pytest.approx(value, rel=1e-5), name


def test_packing_benchmark_runs_on_the_loader(demo_dir, monkeypatch, capsys) -> None:
    script = Path(__file__).parents[3] / "benchmarks" / "rscovlm_model_packing.py"
    argv = [str(script), "--demo", str(demo_dir), "--epoch-size", "24", "--max-length", "2048"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "packs split after encoding" in out
    assert float(out.rsplit("row fill packing / padding: ", 1)[1].rstrip("x\n")) > 1.5
