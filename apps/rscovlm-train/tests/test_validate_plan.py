"""`rscovlm-train validate`: optimiser steps per epoch with and without packing, and LoRA refused under ZeRO-3."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rscovlm_model import load_processor
from rscovlm_train.cli import main

SAMPLES = 10
ANSWER = "Fields and roads."


def _config(tmp_path: Path, demo_dir: Path, text_only_records, **sections) -> Path:
    """Ten identical text-only samples, the demo's tiny model; ``sections`` update the config's sections."""
    records = text_only_records(tmp_path, [ANSWER] * SAMPLES)
    data = {
        "model": {"path": str(demo_dir / "model"), "family": "qwen2_5_vl"},
        "data": {"mixture": {"datasets": [{"name": "chat", "path": str(records)}]}},
        "optim": {"lr": 1e-4},
        "output": {"dir": str(tmp_path / "run")},
    }
    for section, fields in sections.items():
        data.setdefault(section, {}).update(fields)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _validate(config: Path, *args: str):
    return CliRunner().invoke(main, ["validate", str(config), *args])


def _sample_tokens(demo_dir: Path) -> int:
    """One sample's tokens, by the checkpoint's own chat template and tokenizer."""
    processor = load_processor(demo_dir / "model")
    conversation = [
        {"role": "user", "content": [{"type": "text", "text": "Question 0: what is remote sensing?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]},
    ]
    (ids,) = processor.apply_chat_template(conversation, tokenize=True)
    return len(ids)


def test_steps_per_epoch_without_packing(tmp_path, demo_dir, text_only_records):
    # 10 samples, global batch 1 x 2 accumulation x 3 processes = 6: 2 steps per epoch (the last one padded);
    # 1.5 epochs -> 3 steps
    optim = {"per_device_batch_size": 1, "gradient_accumulation_steps": 2, "epochs": 1.5}
    result = _validate(_config(tmp_path, demo_dir, text_only_records, optim=optim), "--world-size", "3")
    assert result.exit_code == 0, result.output
    assert "samples per epoch:      10" in result.output
    expected = "world size 3: global batch 6 samples (1 per device x 2 accumulation), 2 optimiser steps per epoch"
    assert f"{expected}, 3 in total (1.50 epochs)" in result.output


def test_steps_per_epoch_with_packing_come_from_the_length_estimates(tmp_path, demo_dir, text_only_records):
    tokens = _sample_tokens(demo_dir)
    # rows of 2.5 samples hold two each: 10 samples -> 5 packs; global batch 1 x 1 x 2 = 2 packs -> 3 steps per
    # epoch; max_steps 7 covers 7 / 3 epochs
    data = {"packing": True, "max_length": tokens * 5 // 2}
    optim = {"per_device_batch_size": 1, "gradient_accumulation_steps": 1, "max_steps": 7}
    result = _validate(_config(tmp_path, demo_dir, text_only_records, data=data, optim=optim), "--world-size", "2")
    assert result.exit_code == 0, result.output
    assert f"packs per epoch:        5 (epoch 0, rows of {tokens * 5 // 2} tokens)" in result.output
    expected = "world size 2: global batch 2 packs (1 per device x 1 accumulation), 3 optimiser steps per epoch"
    assert f"{expected}, 7 in total (2.33 epochs)" in result.output


@pytest.mark.parametrize("command", ["validate", "run"])
def test_lora_under_zero3_is_refused_with_the_reason(tmp_path, demo_dir, text_only_records, command):
    sections = {"model": {"lora": {"r": 4}}, "distributed": {"deepspeed": "zero3"}}
    config = _config(tmp_path, demo_dir, text_only_records, **sections)
    result = CliRunner().invoke(main, [command, str(config)])
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines() if "model.lora:" in line]
    assert lines and lines[0].startswith("model.lora: LoRA cannot train under ZeRO-3"), result.output
    assert "partitioned" in lines[0]


def test_lora_under_zero2_and_zero3_without_lora_validate(tmp_path, demo_dir, text_only_records):
    lora = _config(tmp_path, demo_dir, text_only_records, model={"lora": {"r": 4}}, distributed={"deepspeed": "zero2"})
    assert _validate(lora).exit_code == 0
    ds = tmp_path / "stage3.json"
    ds.write_text('{"zero_optimization": {"stage": 3}}', encoding="utf-8")
    plain = _config(tmp_path, demo_dir, text_only_records, distributed={"deepspeed": str(ds)})
    result = _validate(plain)
    assert result.exit_code == 0, result.output
    assert "ZeRO stage 3" in result.output
    with_lora = _config(
        tmp_path, demo_dir, text_only_records, model={"lora": {"r": 4}}, distributed={"deepspeed": str(ds)}
    )
    assert "model.lora: LoRA cannot train under ZeRO-3" in _validate(with_lora).output  # a JSON file asking for it
