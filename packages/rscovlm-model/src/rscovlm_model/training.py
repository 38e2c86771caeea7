"""Training controls: which parts learn (vision tower, merger, language model), LoRA, learning rates per part and
optional Liger kernels (gradient checkpointing: `rscovlm_model.checkpointing`)."""

from __future__ import annotations

import importlib
import importlib.util
import re
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rscovlm_model.families import detect_family

Part = Literal["vision", "merger", "llm"]
PARTS: tuple[Part, ...] = ("vision", "merger", "llm")


def parameter_part(name: str) -> Part:
    """Which part a parameter (or module) name belongs to; works on plain and peft-wrapped names."""
    dotted = f".{name}."
    if ".visual.merger." in dotted or ".visual.deepstack_merger_list." in dotted:
        return "merger"
    if ".visual." in dotted:
        return "vision"
    return "llm"


def trainable_counts(model: torch.nn.Module) -> dict[str, int]:
    """Number of trainable parameters per part (plus ``total``)."""
    counts = dict.fromkeys(PARTS, 0)
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            counts[parameter_part(name)] += parameter.numel()
    return {**counts, "total": sum(counts.values())}


def configure_trainable(
    model: torch.nn.Module, train_vision: bool = False, train_merger: bool = True, train_llm: bool = True
) -> dict[str, int]:
    """Freeze or unfreeze every parameter by part; return the trainable counts."""
    wanted = {"vision": train_vision, "merger": train_merger, "llm": train_llm}
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(wanted[parameter_part(name)])
    return trainable_counts(model)


class LoraSettings(BaseModel):
    """LoRA adapters on the linear layers of the chosen parts; the merger can still be trained in full."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    on_llm: bool = True
    on_vision: bool = False
    train_merger: bool = True
    llm_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    vision_modules: tuple[str, ...] = ("qkv", "proj", "gate_proj", "up_proj", "down_proj", "linear_fc1", "linear_fc2")


def lora_target_pattern(settings: LoraSettings) -> str:
    """The peft ``target_modules`` regex (full match on module names) for the chosen parts."""
    patterns = []
    if settings.on_llm:
        patterns.append(rf"(?:.*\.)?language_model\.layers\.\d+\.(?:\w+\.)*(?:{'|'.join(settings.llm_modules)})")
    if settings.on_vision:
        patterns.append(rf"(?:.*\.)?visual\.blocks\.\d+\.(?:\w+\.)*(?:{'|'.join(settings.vision_modules)})")
    if not patterns:
        raise ValueError("LoraSettings: on_llm and on_vision are both false, so LoRA would adapt nothing")
    return "|".join(f"(?:{p})" for p in patterns)


def apply_lora(model: torch.nn.Module, settings: LoraSettings) -> torch.nn.Module:
    """Wrap ``model`` in a peft LoRA model; base weights are frozen, adapters (and the merger, if asked) train."""
    from peft import LoraConfig, get_peft_model

    merger_modules = [
        name
        for name, _ in model.named_modules()
        if re.fullmatch(r"(?:.*\.)?visual\.(?:merger|deepstack_merger_list\.\d+)", name)
    ]
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=lora_target_pattern(settings),
        modules_to_save=merger_modules if settings.train_merger else None,
        bias="none",
    )
    return get_peft_model(model, config)


def parameter_groups(
    model: torch.nn.Module,
    lr: float,
    vision_lr: float | None = None,
    merger_lr: float | None = None,
    weight_decay: float = 0.0,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups of the trainable parameters: one learning rate per part, no decay on biases/norms.

    ``vision_lr`` / ``merger_lr`` default to ``lr``. Each group carries a ``name`` such as ``vision/decay``.
    """
    rates = {"vision": vision_lr or lr, "merger": merger_lr or lr, "llm": lr}
    groups: dict[tuple[str, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        decay = parameter.ndim >= 2 and not name.endswith(".bias")
        groups.setdefault((parameter_part(name), decay), []).append(parameter)
    return [
        {
            "name": f"{part}/{'decay' if decay else 'no_decay'}",
            "params": params,
            "lr": rates[part],
            "weight_decay": weight_decay if decay else 0.0,
        }
        for (part, decay), params in sorted(groups.items())
    ]


_LIGER_PATCHES = {"qwen2_5_vl": "apply_liger_kernel_to_qwen2_5_vl", "qwen3_vl": "apply_liger_kernel_to_qwen3_vl"}


def apply_liger_kernels(model: Any, fused_linear_cross_entropy: bool = True) -> bool:
    """Swap in Liger's fused kernels (RMSNorm, SwiGLU, RoPE and, unless told not to, fused linear cross-entropy)
    when liger-kernel is installed.

    Call it on the bare model, before ``apply_lora``. A trainer that computes per-token losses itself (chunked over
    hidden states) passes ``fused_linear_cross_entropy=False``: Liger's fused loss returns only the mean. Returns
    whether the kernels were applied; without the package the model is left as it is.
    """
    if importlib.util.find_spec("liger_kernel") is None:
        return False
    liger = importlib.import_module("liger_kernel.transformers")
    patch = getattr(liger, _LIGER_PATCHES[detect_family(model.config)])
    patch(model=model, fused_linear_cross_entropy=fused_linear_cross_entropy)
    return True
