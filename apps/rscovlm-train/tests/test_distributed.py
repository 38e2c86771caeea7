"""Two processes (torchrun, gloo on the CPU) under DeepSpeed ZeRO-2 with token-budget packing: the losses of each
step equal one process's with the same global batch, and the ranks' shards cover each pack of a step once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rscovlm_train.trainer import SAMPLE_TRACE_DIR

pytestmark = pytest.mark.slow

STEPS = 3


def _config(make_config, demo_config_data, output: Path, accumulation: int) -> Path:
    datasets = [d for d in demo_config_data["data"]["mixture"]["datasets"] if d["name"] != "lrs_vqa_zoom"]
    config = make_config(
        demo_config_data,
        output,
        data={"packing": True, "max_length": 1024, "mixture": {"datasets": datasets}},
        optim={"max_steps": STEPS, "per_device_batch_size": 1, "gradient_accumulation_steps": accumulation},
        output={"save_steps": 2, "logging_steps": 1, "save_total_limit": None, "report_to": []},
        distributed={"deepspeed": "zero2"},
    )
    path = output.with_suffix(".yaml")
    path.write_text(config.to_yaml(), encoding="utf-8")
    return path


def _launch(config: Path, processes: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "rscovlm_train", "run", str(config)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-6000:]


def _step_ids(output: Path) -> dict[int, Counter]:
    """Sample ids trained on per optimiser step, all ranks together."""
    steps: dict[int, Counter] = {}
    for trace in (output / SAMPLE_TRACE_DIR).glob("rank*.jsonl"):
        for line in trace.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            steps.setdefault(entry["step"], Counter()).update(entry["ids"])
    return steps


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, demo_config_data, make_config, logged):
    two, one = tmp_path / "two", tmp_path / "one"
    _launch(_config(make_config, demo_config_data, two, accumulation=1), processes=2)
    _launch(_config(make_config, demo_config_data, one, accumulation=2), processes=1)

    last = f"checkpoint-{STEPS}"
    expected, got = logged(one / last, "loss"), logged(two / last, "loss")
    assert sorted(got) == list(range(1, STEPS + 1))
    assert got == pytest.approx(expected, rel=1e-4)
    assert _step_ids(two) == _step_ids(one)  # the same packs in every step, each once
    assert len(list((two / SAMPLE_TRACE_DIR).glob("rank*.jsonl"))) == 2
