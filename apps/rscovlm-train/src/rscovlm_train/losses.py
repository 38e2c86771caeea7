"""Per-token losses and their running sums per task and per data set (co-training lives or dies by these)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

IGNORE_INDEX = -100


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token cross-entropy aligned with ``labels``, and the mask of positions that are scored.

    Position ``t`` holds the loss of predicting ``labels[t]`` from ``logits[t - 1]`` (the causal-LM shift of
    transformers' own loss); position 0 and ignored labels are not scored and hold 0.
    """
    targets = labels[..., 1:]
    losses = F.cross_entropy(
        logits[..., :-1, :].float().flatten(0, -2), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    ).view(targets.shape)
    return F.pad(losses, (1, 0)), scored_positions(labels)


def scored_positions(labels: torch.Tensor) -> torch.Tensor:
    """Positions whose label is predicted and scored: not position 0 of a row, not an ignored label."""
    return F.pad(labels[..., 1:] != IGNORE_INDEX, (1, 0), value=False)


def _chunk_losses(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor
) -> torch.Tensor:
    return F.cross_entropy(F.linear(hidden, weight, bias).float(), targets, reduction="none")


def chunked_token_losses(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    bias: torch.Tensor | None = None,
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`token_losses` of the head ``(weight, bias)`` over ``hidden`` states, without materialising the logits.

    Only scored positions get logits, ``chunk_size`` rows at a time in fp32; each chunk is recomputed in the backward
    pass instead of being kept, so the peak is one chunk's logits, not the sequence's.
    """
    targets = labels[..., 1:]
    scored = scored_positions(labels)
    rows = hidden[..., :-1, :][targets != IGNORE_INDEX]
    wanted = targets[targets != IGNORE_INDEX]
    pieces = [
        checkpoint(
            _chunk_losses, rows[i : i + chunk_size], weight, bias, wanted[i : i + chunk_size], use_reentrant=False
        )
        for i in range(0, len(rows), chunk_size)
    ]
    losses = torch.zeros(scored.shape, dtype=torch.float32, device=hidden.device)
    if pieces:
        return losses.masked_scatter(scored, torch.cat(pieces)), scored
    # nothing to score (a placeholder batch): zero losses still tied to the graph, so that the backward pass runs
    # through every parameter that took part, with zero gradients, as on the other ranks
    return losses + 0.0 * (hidden.sum() + weight.sum()), scored


@contextmanager
def head_returns_token_losses(model: Any, labels: torch.Tensor, chunk_size: int = 1024) -> Iterator[None]:
    """While active, the model's output head returns `chunked_token_losses` (shaped ``(..., length, 1)``, in the
    place of the logits) instead of logits.

    The losses are computed inside the head's own forward call, so wrappers that gather or shard its weight around
    that call (DeepSpeed ZeRO-3) see an ordinary module call; the state dict is untouched.
    """
    head = model.get_output_embeddings()

    def forward(hidden: torch.Tensor) -> torch.Tensor:
        losses, _ = chunked_token_losses(hidden, head.weight, labels.to(hidden.device), head.bias, chunk_size)
        return losses[..., None]

    head.forward = forward
    try:
        yield
    finally:
        del head.forward  # the class's forward again


class GroupLosses:
    """Sums of token losses and token counts per group name (``task/detection``, ``dataset/dota``)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, float] = defaultdict(float)

    def add(self, group: str, loss_sum: float, tokens: float) -> None:
        self.sums[group] += loss_sum
        self.counts[group] += tokens

    def means(self, groups: list[str] | None = None) -> dict[str, float]:
        """Token-weighted mean loss per group (groups without tokens are left out)."""
        names = groups if groups is not None else sorted(self.sums)
        return {name: self.sums[name] / self.counts[name] for name in names if self.counts.get(name, 0) > 0}

    def reset(self) -> None:
        self.sums.clear()
        self.counts.clear()


def add_sample_losses(
    meter: GroupLosses, losses: torch.Tensor, scored: torch.Tensor, sample_index: torch.Tensor, groups: list[list[str]]
) -> None:
    """Credit each scored token's loss to the groups of the sample it belongs to.

    ``sample_index`` gives, per position, the index into ``groups`` of the sample that owns it (-1 for padding);
    ``groups[i]`` lists sample ``i``'s group names.
    """
    mask = scored & (sample_index >= 0)
    owners = sample_index[mask]
    values = losses.detach()[mask].double()
    sums = torch.zeros(len(groups), dtype=torch.float64, device=values.device).index_add_(0, owners, values)
    tokens = torch.bincount(owners, minlength=len(groups))
    for sample, names in enumerate(groups):
        if tokens[sample] > 0:
            for name in names:
                meter.add(name, float(sums[sample]), float(tokens[sample]))
