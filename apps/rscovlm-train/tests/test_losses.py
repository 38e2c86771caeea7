"""Token losses match transformers' causal-LM loss; per-sample credit adds up to the batch loss."""

from __future__ import annotations

import torch
from rscovlm_train.losses import (
    GroupLosses,
    add_sample_losses,
    chunked_token_losses,
    head_returns_token_losses,
    token_losses,
)
from transformers.loss.loss_utils import ForCausalLMLoss


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 9, 13, generator=generator)
    labels = torch.randint(0, 13, (2, 9), generator=generator)
    labels[0, :4] = -100
    labels[1, 6:] = -100
    return logits, labels


def test_mean_token_loss_is_transformers_loss():
    logits, labels = batch()
    losses, scored = token_losses(logits, labels)
    expected = ForCausalLMLoss(logits, labels, vocab_size=13)
    torch.testing.assert_close(losses[scored].mean(), expected, rtol=0, atol=1e-6)
    assert not scored[:, 0].any() and int(scored.sum()) == int((labels[:, 1:] != -100).sum())


def test_sample_losses_are_credited_to_their_groups():
    logits, labels = batch()
    losses, scored = token_losses(logits, labels)
    owners = torch.tensor([[0] * 9, [1] * 5 + [-1] * 4])  # row 1 ends in padding
    meter = GroupLosses()
    add_sample_losses(meter, losses, scored, owners, [["task/detection", "dataset/dota"], ["task/vqa", "dataset/x"]])
    first = losses[0][scored[0]]
    second = losses[1, :5][scored[1, :5]]
    means = meter.means()
    assert abs(means["task/detection"] - first.double().mean().item()) < 1e-9
    assert abs(means["dataset/x"] - second.double().mean().item()) < 1e-9
    assert meter.counts["task/vqa"] == len(second)
    meter.reset()
    assert meter.means() == {}


def test_chunked_losses_and_gradients_equal_the_plain_loss():
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(2, 40, 16, generator=generator, requires_grad=True)
    weight = torch.randn(50, 16, generator=generator, requires_grad=True)
    labels = torch.randint(0, 50, (2, 40), generator=generator)
    labels[0, :7] = -100
    labels[1, 30:] = -100
    plain, plain_scored = token_losses(hidden @ weight.T, labels)
    (plain[plain_scored] * torch.linspace(0.5, 2, int(plain_scored.sum()))).sum().backward()
    expected = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    chunked, scored = chunked_token_losses(hidden, weight, labels, chunk_size=9)  # 62 scored rows: 7 chunks
    assert torch.equal(scored, plain_scored)
    torch.testing.assert_close(chunked, plain.detach(), rtol=0, atol=1e-5)
    (chunked[scored] * torch.linspace(0.5, 2, int(scored.sum()))).sum().backward()
    torch.testing.assert_close(hidden.grad, expected[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(weight.grad, expected[1], rtol=1e-5, atol=1e-6)


def test_the_head_returns_token_losses_only_while_asked(demo_dir):
    from rscovlm_model import load_model

    model = load_model(demo_dir / "model", dtype="float32", attn_implementation="sdpa")
    generator = torch.Generator().manual_seed(2)
    input_ids = torch.randint(0, 100, (1, 12), generator=generator)
    labels = input_ids.clone()
    labels[:, :5] = -100
    plain, _ = token_losses(model(input_ids=input_ids).logits, labels)
    with head_returns_token_losses(model, labels, chunk_size=4):
        losses = model(input_ids=input_ids).logits[..., 0]
    torch.testing.assert_close(losses, plain, rtol=0, atol=1e-5)
    assert model(input_ids=input_ids).logits.shape[-1] == model.config.text_config.vocab_size  # logits again
