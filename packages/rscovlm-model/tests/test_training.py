"""Freezing by part, LoRA parameter counts, per-part learning rates, gradient checkpointing, Liger fallback."""

from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from rscovlm_model import (
    LoraSettings,
    PackingCollator,
    PaddingCollator,
    apply_liger_kernels,
    apply_lora,
    configure_trainable,
    enable_gradient_checkpointing,
    encode,
    parameter_groups,
)
from rscovlm_model.training import trainable_counts


def _numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _parts(model) -> dict[str, int]:
    visual = model.model.visual
    merger = _numel(visual.merger) + sum(_numel(m) for m in getattr(visual, "deepstack_merger_list", []))
    llm = _numel(model.model.language_model) + _numel(model.lm_head)
    return {"vision": _numel(visual) - merger, "merger": merger, "llm": llm}


@pytest.mark.parametrize(
    ("vision", "merger", "llm"), [(False, True, True), (True, False, False), (False, False, True), (True, True, True)]
)
def test_configure_trainable_counts_each_part(tiny, vision: bool, merger: bool, llm: bool) -> None:
    model = copy.deepcopy(tiny.model)
    expected = _parts(model)
    counts = configure_trainable(model, train_vision=vision, train_merger=merger, train_llm=llm)
    assert counts["vision"] == (expected["vision"] if vision else 0)
    assert counts["merger"] == (expected["merger"] if merger else 0)
    assert counts["llm"] == (expected["llm"] if llm else 0)
    assert counts["total"] == sum(p.numel() for p in model.parameters() if p.requires_grad)


def _lora_size(model, prefix: str, names: tuple[str, ...], r: int) -> int:
    """r * (in + out) for every targeted Linear: the LoRA A and B matrices."""
    return sum(
        r * (m.in_features + m.out_features)
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and n.startswith(prefix) and n.rsplit(".", 1)[-1] in names
    )


@pytest.mark.parametrize(("on_llm", "on_vision"), [(True, False), (True, True), (False, True)])
def test_lora_adds_exactly_the_adapter_parameters(tiny, on_llm: bool, on_vision: bool) -> None:
    model = copy.deepcopy(tiny.model)
    settings = LoraSettings(r=4, alpha=8, on_llm=on_llm, on_vision=on_vision, train_merger=True)
    expected_llm = _lora_size(model, "model.language_model.layers.", settings.llm_modules, 4) if on_llm else 0
    expected_vision = _lora_size(model, "model.visual.blocks.", settings.vision_modules, 4) if on_vision else 0
    merger = _parts(model)["merger"]
    peft_model = apply_lora(model, settings)
    counts = trainable_counts(peft_model)
    assert counts["llm"] == expected_llm
    assert counts["vision"] == expected_vision
    assert counts["merger"] == merger
    assert expected_llm + expected_vision > 0
    # the wrapped model still trains through the public batch path, packing included
    samples = [encode(c, tiny.processor) for c in tiny.conversations().values()]
    collator = PackingCollator(peft_model, max_length=10_000, pad_token_id=tiny.processor.tokenizer.pad_token_id)
    loss = peft_model(**collator(samples)).loss
    loss.backward()
    assert all(p.grad is not None for p in peft_model.parameters() if p.requires_grad)


def test_lora_with_no_target_is_refused(tiny) -> None:
    with pytest.raises(ValueError, match="LoRA would adapt nothing"):
        apply_lora(copy.deepcopy(tiny.model), LoraSettings(on_llm=False, on_vision=False))


def test_parameter_groups_give_each_part_its_learning_rate(tiny) -> None:
    model = copy.deepcopy(tiny.model)
    configure_trainable(model, train_vision=True, train_merger=True, train_llm=True)
    groups = parameter_groups(model, lr=1e-5, vision_lr=2e-6, merger_lr=1e-4, weight_decay=0.1)
    by_name = {g["name"]: g for g in groups}
    assert {g["lr"] for n, g in by_name.items() if n.startswith("vision/")} == {2e-6}
    assert {g["lr"] for n, g in by_name.items() if n.startswith("merger/")} == {1e-4}
    assert {g["lr"] for n, g in by_name.items() if n.startswith("llm/")} == {1e-5}
    assert all(g["weight_decay"] == (0.1 if n.endswith("/decay") else 0.0) for n, g in by_name.items())
    assert all(p.ndim == 1 for n, g in by_name.items() if n.endswith("/no_decay") for p in g["params"])
    assert sum(p.numel() for g in groups for p in g["params"]) == _numel(model)
    torch.optim.AdamW(groups)  # torch accepts the groups as they are
    configure_trainable(model, train_vision=False, train_merger=False, train_llm=True)
    assert {g["name"].split("/")[0] for g in parameter_groups(model, lr=1e-5)} == {"llm"}


def test_gradient_checkpointing_keeps_the_gradients(tiny) -> None:
    model = copy.deepcopy(tiny.model)
    model.train()
    batch = PaddingCollator(tiny.processor.tokenizer.pad_token_id)(
        [encode(c, tiny.processor) for c in tiny.conversations().values()]
    )
    model(**batch).loss.backward()
    plain = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    enable_gradient_checkpointing(model)
    assert model.model.language_model.gradient_checkpointing and model.config.use_cache is False
    model(**batch).loss.backward()
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, plain[name], rtol=1e-5, atol=1e-6, msg=name)


def test_liger_kernels_are_optional(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "liger_kernel" else real_find_spec(name, *a)
    )
    model = copy.deepcopy(tiny.model)
    assert apply_liger_kernels(model) is False
