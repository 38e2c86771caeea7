"""The demo's co-training under DeepSpeed ZeRO-2, one process on the CPU (gloo), launched like torchrun would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

STEPS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_zero2_run_trains_and_saves_a_loadable_model(tmp_path, demo_config_data, make_config, logged, assert_generates):
    config = make_config(
        demo_config_data,
        tmp_path / "run",
        optim={"max_steps": STEPS},
        output={"save_steps": 10, "logging_steps": 5},
        distributed={"deepspeed": "zero2"},
    )
    path = tmp_path / "zero2.yaml"
    path.write_text(config.to_yaml(), encoding="utf-8")
    env = {
        **os.environ,
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "rscovlm_train", "run", str(path)], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]

    last = tmp_path / "run" / f"checkpoint-{STEPS}"
    # DeepSpeed's own checkpoint layout, with the ZeRO-partitioned optimizer state
    assert (last / f"global_step{STEPS}").is_dir() and list((last / f"global_step{STEPS}").glob("*optim_states.pt"))
    losses = logged(last, "loss")
    assert sorted(losses) == [5, 10, 15, 20] and losses[20] < losses[5]
    for task in ("detection", "captioning", "uhr_vqa", "classification"):
        assert logged(last, f"loss_task/{task}"), task
    assert_generates(tmp_path / "run" / "final")
