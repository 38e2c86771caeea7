"""Every training forward pass runs the vision tower: a text-only batch runs it on a dummy image that adds zero.

Under DeepSpeed ZeRO-3 every module gathers its parameters from all ranks when it runs (and again in the backward
pass), so all ranks must run the same modules in the same order. A rank whose batch holds no image would skip the
vision tower while the others gather its weights, and every rank would wait for ever. With
`run_vision_every_step`, a text-only batch sends a dummy image of one merged patch through the vision tower just where
an image batch does (after the token embedding, before the language model) and adds ``0 x`` its outputs to the
input embeddings: the loss and every gradient are unchanged (the vision parameters get exact zeros), and the
modules run, forwards and backwards, in the same order on every rank.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.hooks import RemovableHandle


def qwen_vl_model(model: Any) -> Any:
    """The inner Qwen-VL model, owner of ``visual``, ``language_model`` and ``get_rope_index`` (unwrapping peft)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.model


def dummy_image(visual: torch.nn.Module, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero pixels of one image of ``merge x merge`` patches (one language-model token) and its grid ``(1, 3)``."""
    config = visual.config
    merge, patch = config.spatial_merge_size, config.patch_size
    width = config.in_channels * config.temporal_patch_size * patch * patch
    dtype = next(visual.parameters()).dtype
    pixels = torch.zeros(merge * merge, width, dtype=dtype, device=device)
    return pixels, torch.tensor([[1, merge, merge]], device=device)


def _used_outputs_sum(output: Any) -> torch.Tensor:
    """The sum of what the model takes from the vision tower: the merged tokens and, for Qwen3-VL, the deepstack
    features; not the hidden states, whose backward pass an image batch never runs (ZeRO-3 counts the modules)."""
    tensors = [output.pooler_output, *(getattr(output, "deepstack_features", None) or [])]
    return torch.stack([tensor.float().sum() for tensor in tensors]).sum()


def run_vision_every_step(model: Any) -> list[RemovableHandle]:
    """Install the hooks on ``model`` (a Qwen-VL model, peft-wrapped or not); returns their handles."""
    inner = qwen_vl_model(model)
    text_only = False

    def note_batch(module: Any, args: tuple, kwargs: dict[str, Any]) -> None:
        nonlocal text_only
        visual_inputs = ("pixel_values", "pixel_values_videos", "mm_encoder_outputs")
        text_only = module.training and all(kwargs.get(name) is None for name in visual_inputs)

    def add_dummy(module: Any, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]] | None:
        if not text_only:
            return None
        embeds = kwargs["inputs_embeds"]
        pixels, grid = dummy_image(inner.visual, embeds.device)
        zero = 0.0 * _used_outputs_sum(inner.visual(pixels, grid_thw=grid))
        return args, {**kwargs, "inputs_embeds": embeds + zero.to(embeds.dtype)}

    return [
        inner.register_forward_pre_hook(note_batch, with_kwargs=True),
        inner.language_model.register_forward_pre_hook(add_dummy, with_kwargs=True),
    ]
