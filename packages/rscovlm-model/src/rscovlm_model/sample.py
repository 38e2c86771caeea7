"""`EncodedSample`, what the collators batch: token tensors, label mask and pixels of one conversation (torch only)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


@dataclass
class EncodedSample:
    """One tokenised conversation: 1-D token tensors of one length, and the pixels of the images it keeps."""

    input_ids: torch.Tensor
    labels: torch.Tensor
    mm_token_type_ids: torch.Tensor
    pixel_values: torch.Tensor | None
    image_grid_thw: torch.Tensor | None
    truncated_tokens: int = 0
    dropped_images: int = 0

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_label_tokens(self) -> int:
        """How many tokens the loss is computed on."""
        return int((self.labels != IGNORE_INDEX).sum())
