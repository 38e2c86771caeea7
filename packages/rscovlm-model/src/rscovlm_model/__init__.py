"""Qwen2.5-VL / Qwen3-VL loading, encoding, packing and generation for remote-sensing co-training.

Public names are imported on first use: ``import rscovlm_model`` stays cheap, and torch / transformers load only when
a name that needs them is touched.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "FAMILY_SPECS": "families",
    "FamilySpec": "families",
    "detect_family": "families",
    "pack_lengths": "packing",
    "real_token_fraction": "packing",
    "PackedBatchSampler": "packing",
    "load_model": "loading",
    "load_processor": "loading",
    "default_attn_implementation": "loading",
    "build_tiny_checkpoint": "tiny",
    "build_offline_tokenizer": "tiny",
    "prepare_images": "images",
    "IGNORE_INDEX": "sample",
    "EncodedSample": "sample",
    "encode": "encoding",
    "truncate": "encoding",
    "estimate_length": "lengths",
    "CollatorStats": "collate",
    "Collated": "collate",
    "PaddingCollator": "collate",
    "PackingCollator": "collate",
    "Generator": "generation",
    "LoraSettings": "training",
    "apply_lora": "training",
    "configure_trainable": "training",
    "parameter_groups": "training",
    "enable_gradient_checkpointing": "checkpointing",
    "apply_liger_kernels": "training",
    "run_vision_every_step": "vision_step",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rscovlm_model' has no attribute {name!r}")
    return getattr(import_module(f"rscovlm_model.{module}"), name)
