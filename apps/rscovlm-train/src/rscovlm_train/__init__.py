"""Training app: co-train one Qwen-VL model on a weighted remote-sensing mixture.

``train`` and the Trainer (which import transformers) load on first use; reading and validating configs does not.
"""

from importlib import import_module
from typing import Any

from rscovlm_train.config import ConfigError, TrainConfig, load_config, parse_config

__version__ = "0.1.0"

_LAZY = {"train": "run", "TrainResult": "run", "CoTrainer": "trainer", "run_demo": "demo"}

__all__ = [
    "CoTrainer",
    "ConfigError",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "load_config",
    "parse_config",
    "run_demo",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rscovlm_train' has no attribute {name!r}")
    return getattr(import_module(f"rscovlm_train.{module}"), name)
