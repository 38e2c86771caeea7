"""Load a Qwen2.5-VL / Qwen3-VL checkpoint and its processor from a local directory."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch
import transformers

from rscovlm_model.families import FAMILY_SPECS, Family, detect_family


def default_attn_implementation() -> str:
    """``flash_attention_2`` when flash-attn is installed and a GPU is present, otherwise ``sdpa``."""
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _resolve_dtype(dtype: str | torch.dtype) -> str | torch.dtype:
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    resolved = getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"dtype: {dtype!r} is not a torch dtype (use e.g. 'bfloat16', 'float32' or 'auto')")
    return resolved


def load_model(
    path: str | Path,
    family: Family | str = "auto",
    dtype: str | torch.dtype = "auto",
    attn_implementation: str = "auto",
    device: str | torch.device | None = None,
) -> transformers.PreTrainedModel:
    """Load the model of a local checkpoint with transformers' own Qwen-VL class for its family.

    ``family="auto"`` reads it from ``config.json``; a given family must match the checkpoint.
    """
    detected = detect_family(path)
    if family != "auto" and family != detected:
        raise ValueError(f"{path}: family {family!r} was requested but the checkpoint is {detected!r}")
    if attn_implementation == "auto":
        attn_implementation = default_attn_implementation()
    model_class = getattr(transformers, FAMILY_SPECS[detected].model_class)
    model = model_class.from_pretrained(str(path), dtype=_resolve_dtype(dtype), attn_implementation=attn_implementation)
    if device is not None:
        model = model.to(device)
    return model


def load_processor(path: str | Path, policy: Any | None = None) -> transformers.ProcessorMixin:
    """Load the processor of a local checkpoint, set so that it never resizes images again.

    Images reach the processor already resized by rs-resolution (see ``rscovlm_model.images``), so training and
    inference see the same pixels. ``policy`` (an rs-resolution ``ResolutionPolicy``) is checked against the
    family's patch factor and copied into the image processor's pixel budget, for the record.
    """
    spec = FAMILY_SPECS[detect_family(path)]
    processor = transformers.AutoProcessor.from_pretrained(str(path))
    image_processor = processor.image_processor
    image_processor.do_resize = False
    if policy is not None:
        if policy.factor != spec.factor:
            raise ValueError(
                f"resolution policy factor {policy.factor} does not match {spec.family} (patch factor {spec.factor})"
            )
        image_processor.size = {"shortest_edge": policy.min_pixels, "longest_edge": policy.max_pixels}
    return processor
