"""Resuming a DeepSpeed checkpoint on another number of processes, through DeepSpeed's universal checkpoint.

DeepSpeed saves the ZeRO optimiser state in one partition per process and loads it back only on as many processes.
A checkpoint whose sampler state names another world size is converted once, by DeepSpeed's ``ds_to_universal``,
into CHECKPOINT/<tag>_universal (the optimiser state per parameter, unpartitioned) and read back with DeepSpeed's
``checkpoint.load_universal``, which partitions it for the new world size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rscovlm_train.checkpoints import load_sampler_state, write_text_atomically

UNIVERSAL_SUFFIX = "_universal"
LATEST_UNIVERSAL = "latest_universal"  # the file DeepSpeed reads the universal tag from


def needs_universal(checkpoint: Path, world_size: int) -> bool:
    """Whether ``checkpoint`` holds DeepSpeed state saved by another number of processes than ``world_size``."""
    state = load_sampler_state(checkpoint) or {}
    saved = state.get("world_size")
    return (checkpoint / "latest").is_file() and saved is not None and int(saved) != world_size


def with_universal_loading(config: dict[str, Any]) -> dict[str, Any]:
    """A DeepSpeed config that loads universal checkpoints."""
    return {**config, "checkpoint": {**config.get("checkpoint", {}), "load_universal": True}}


def convert_to_universal(checkpoint: Path) -> Path:
    """Write CHECKPOINT/<tag>_universal and CHECKPOINT/latest_universal (once; staged, then renamed into place)."""
    tag = (checkpoint / "latest").read_text(encoding="utf-8").strip()
    target = checkpoint / f"{tag}{UNIVERSAL_SUFFIX}"
    if not target.is_dir():
        staged = checkpoint / f".{target.name}.partial"
        shutil.rmtree(staged, ignore_errors=True)
        command = [
            sys.executable,
            "-m",
            "deepspeed.checkpoint.ds_to_universal",
            "--input_folder",
            str(checkpoint / tag),
        ]
        command += ["--output_folder", str(staged), "--inject_missing_state"]
        command += ["--num_extract_workers", "1", "--num_merge_workers", "1"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"{checkpoint}: DeepSpeed's ds_to_universal could not convert {tag}:\n{done.stderr[-3000:]}"
            )
        os.replace(staged, target)
    write_text_atomically(checkpoint / LATEST_UNIVERSAL, target.name)
    return target
