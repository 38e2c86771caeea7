"""The launchers pass the rendezvous from the environment to torchrun and the config to `rscovlm-train run`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def test_multinode_launcher_reads_the_environment(tmp_path):
    fake_uv = tmp_path / "uv"
    fake_uv.write_text('#!/usr/bin/env bash\necho "$@"\n', encoding="utf-8")
    fake_uv.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "NNODES": "4",
        "NODE_RANK": "2",
        "MASTER_ADDR": "node0",
        "MASTER_PORT": "29511",
        "NPROC_PER_NODE": "8",
    }
    done = subprocess.run(
        ["bash", str(SCRIPTS / "train_multinode.sh"), "configs/x.yaml", "--set", "optim.lr=1e-5"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [
        *("run", "--no-sync", "torchrun", "--nnodes", "4", "--node_rank", "2", "--nproc_per_node", "8"),
        *("--master_addr", "node0", "--master_port", "29511", "-m", "rscovlm_train", "run"),
        *("configs/x.yaml", "--set", "optim.lr=1e-5"),
    ]


def test_launchers_are_valid_bash():
    for script in ("train_multinode.sh", "train_slurm.sbatch"):
        subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=True)
