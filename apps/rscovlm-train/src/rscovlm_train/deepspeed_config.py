"""DeepSpeed configurations: the shipped ZeRO stages by name, or a user's JSON file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED = ("zero1", "zero2", "zero3", "zero3_offload")


def deepspeed_config(name_or_path: str) -> dict[str, Any]:
    """The DeepSpeed config named ``zero1`` ... ``zero3_offload`` or stored at a path; raises ValueError."""
    if name_or_path in SHIPPED:
        text = (resources.files("rscovlm_train") / "deepspeed_configs" / f"{name_or_path}.json").read_text()
        return json.loads(text)
    path = Path(name_or_path)
    if path.suffix != ".json" or not path.is_file():
        raise ValueError(f"{name_or_path!r} is neither a shipped config ({', '.join(SHIPPED)}) nor a JSON file")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from error
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a DeepSpeed config is a JSON object")
    return config


def zero_stage(config: dict[str, Any]) -> int:
    """The ZeRO stage a DeepSpeed config asks for (0 when it has no zero_optimization section)."""
    return int(config.get("zero_optimization", {}).get("stage", 0))
