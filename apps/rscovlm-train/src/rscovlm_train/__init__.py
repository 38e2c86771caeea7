"""Training app: co-train one Qwen-VL model on a weighted remote-sensing mixture.

Public names load on first use: ``train`` and the Trainer import transformers, the config pydantic; the torch-only
modules (``rscovlm_train.losses``) import without either.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "train": "run",
    "TrainResult": "run",
    "CoTrainer": "trainer",
    "run_demo": "demo",
    "ConfigError": "config",
    "TrainConfig": "config",
    "load_config": "config",
    "parse_config": "config",
}

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
