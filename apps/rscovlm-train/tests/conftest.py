"""Shared fixtures: the demo's data set and tiny model, prepared once per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rscovlm_train.config import TrainConfig, parse_config
from rscovlm_train.demo import prepare_demo


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo folder with sources, training / held-out records and the tiny Qwen2.5-VL checkpoint."""
    out = tmp_path_factory.mktemp("demo")
    prepare_demo(out)
    return out


@pytest.fixture(scope="session")
def demo_config_data(demo_dir: Path) -> dict[str, Any]:
    """The prepared demo config as plain YAML data (modify a copy, then `make_config`)."""
    return yaml.safe_load((demo_dir / "demo.yaml").read_text(encoding="utf-8"))


def make_config(data: dict[str, Any], output_dir: Path, **optim: Any) -> TrainConfig:
    """The demo config without evaluation, writing to ``output_dir``, with ``optim`` fields replaced."""
    data = yaml.safe_load(yaml.safe_dump(data))
    data["evaluation"] = None
    data["output"]["dir"] = str(output_dir)
    data["optim"].update(optim)
    return parse_config(data)
