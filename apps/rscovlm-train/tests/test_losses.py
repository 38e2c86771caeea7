"""Token losses match transformers' causal-LM loss; per-sample credit adds up to the batch loss."""

from __future__ import annotations

import torch
from rscovlm_train.losses import GroupLosses, add_sample_losses, token_losses
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
