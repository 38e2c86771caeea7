"""Gradient (activation) checkpointing across the transformers 5.x releases (torch only, no pydantic)."""

from __future__ import annotations

from typing import Any


def enable_gradient_checkpointing(model: Any) -> None:
    """Recompute activations in the backward pass (non-reentrant, so frozen inputs and LoRA work) and drop the cache."""
    if hasattr(model, "activation_checkpointing_enable"):  # newer name; older 5.x releases only have the gradient_ one
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
