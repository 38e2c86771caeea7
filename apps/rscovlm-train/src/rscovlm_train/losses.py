"""Per-token losses and their running sums per task and per data set (co-training lives or dies by these)."""

from __future__ import annotations

from collections import defaultdict

import torch
import torch.nn.functional as F

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
    scored = F.pad(targets != IGNORE_INDEX, (1, 0), value=False)
    return F.pad(losses, (1, 0)), scored


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
