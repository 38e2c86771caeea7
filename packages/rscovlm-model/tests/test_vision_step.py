"""Text-only batches run the vision tower on a dummy image, in the place an image batch runs it, adding nothing."""

from __future__ import annotations

import copy

import torch
from rscovlm_model import PaddingCollator, encode, run_vision_every_step
from rscovlm_model.vision_step import qwen_vl_model


def _batch(tiny, name: str) -> dict:
    sample = encode(tiny.conversations()[name], tiny.processor)
    return PaddingCollator(tiny.processor.tokenizer.pad_token_id)([sample])


def _call_order(model, batch: dict) -> list[str]:
    """The modules that run in one forward pass, in order, among the embedding, vision tower and first layer."""
    inner, order = qwen_vl_model(model), []
    watched = {
        "embed": inner.language_model.embed_tokens,
        "vision": inner.visual,
        "layer0": inner.language_model.layers[0],
    }
    handles = [
        module.register_forward_pre_hook(lambda *_, name=name: order.append(name)) for name, module in watched.items()
    ]
    try:
        model(**batch)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _loss_and_vision_grads(model, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor | None]]:
    model.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    grads = {name: p.grad for name, p in qwen_vl_model(model).visual.named_parameters()}
    return loss.detach(), grads


def test_text_only_batch_runs_the_vision_tower_where_an_image_batch_does(tiny) -> None:
    model = copy.deepcopy(tiny.model).train()
    image_order = _call_order(model, _batch(tiny, "caption"))
    assert _call_order(model, _batch(tiny, "text_only")) == ["embed", "layer0"]  # without the hooks: skipped

    run_vision_every_step(model)
    assert image_order == ["embed", "vision", "layer0"]
    assert _call_order(model, _batch(tiny, "text_only")) == image_order
    assert _call_order(model, _batch(tiny, "caption")) == image_order  # image batches: the vision tower once
    assert _call_order(model.eval(), _batch(tiny, "text_only")) == ["embed", "layer0"]  # not when evaluating


def test_the_dummy_image_changes_no_loss_and_no_gradient(tiny) -> None:
    plain = copy.deepcopy(tiny.model).train()
    hooked = copy.deepcopy(tiny.model).train()
    run_vision_every_step(hooked)
    batch = _batch(tiny, "text_only")

    plain_loss, plain_grads = _loss_and_vision_grads(plain, batch)
    hooked_loss, hooked_grads = _loss_and_vision_grads(hooked, batch)
    assert torch.equal(plain_loss, hooked_loss)
    assert all(grad is None for grad in plain_grads.values())
    # every vision parameter takes part in the backward pass, with an exact zero gradient
    assert all(grad is not None and not grad.any() for grad in hooked_grads.values()), hooked_grads.keys()
    for (name, p), q in zip(plain.named_parameters(), hooked.parameters(), strict=True):
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad), name
