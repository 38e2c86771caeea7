"""Pixel budgets: one global budget with overrides per dataset and per task."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rs_resolution.coords import ImageFrame
from rs_resolution.resize import MAX_PIXELS, MIN_PIXELS, ResizeConvention, random_resize, smart_resize


def _check_order(min_pixels: int, max_pixels: int) -> None:
    if min_pixels > max_pixels:
        raise ValueError(f"min_pixels ({min_pixels}) must not exceed max_pixels ({max_pixels})")


class PixelBudget(BaseModel):
    """The range of pixel counts an image may be resized to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_pixels: int = Field(gt=0)
    max_pixels: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PixelBudget:
        _check_order(self.min_pixels, self.max_pixels)
        return self


class ResolutionPolicy(BaseModel):
    """Resolves the pixel budget of a sample: a dataset override beats a task override beats the global budget.

    Example: detection at up to 1296·28² pixels while captioning keeps the global budget::

        detection = PixelBudget(min_pixels=4 * 28 * 28, max_pixels=1296 * 28 * 28)
        ResolutionPolicy(max_pixels=512 * 28 * 28, tasks={"detection": detection})
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    factor: int = Field(default=28, gt=0)
    min_pixels: int = Field(default=MIN_PIXELS, gt=0)
    max_pixels: int = Field(default=MAX_PIXELS, gt=0)
    datasets: dict[str, PixelBudget] = Field(default_factory=dict)
    tasks: dict[str, PixelBudget] = Field(default_factory=dict)
    convention: ResizeConvention = "qwen-vl-utils"

    @model_validator(mode="after")
    def _consistent(self) -> ResolutionPolicy:
        _check_order(self.min_pixels, self.max_pixels)
        budgets = {"max_pixels": self.max_pixels}
        budgets.update({f"datasets.{k}.max_pixels": b.max_pixels for k, b in self.datasets.items()})
        budgets.update({f"tasks.{k}.max_pixels": b.max_pixels for k, b in self.tasks.items()})
        for field, max_pixels in budgets.items():
            patch = self.factor**2
            if max_pixels < patch:  # smart_resize would return a zero side
                raise ValueError(f"{field} ({max_pixels}) is below one patch of factor {self.factor} ({patch})")
        return self

    def budget(self, dataset: str | None = None, task: str | None = None) -> PixelBudget:
        """The budget for a sample of ``dataset`` and ``task`` (either may be None)."""
        if dataset is not None and dataset in self.datasets:
            return self.datasets[dataset]
        if task is not None and task in self.tasks:
            return self.tasks[task]
        return PixelBudget(min_pixels=self.min_pixels, max_pixels=self.max_pixels)

    def resized_size(
        self, height: int, width: int, dataset: str | None = None, task: str | None = None
    ) -> tuple[int, int]:
        """``(resized_height, resized_width)`` of an image under this policy."""
        budget = self.budget(dataset, task)
        return smart_resize(height, width, self.factor, budget.min_pixels, budget.max_pixels, self.convention)

    def frame(self, width: int, height: int, dataset: str | None = None, task: str | None = None) -> ImageFrame:
        """The ``ImageFrame`` of an image of ``width`` x ``height`` under this policy."""
        resized_height, resized_width = self.resized_size(height, width, dataset, task)
        return ImageFrame(width=width, height=height, resized_width=resized_width, resized_height=resized_height)

    def random_frame(
        self,
        width: int,
        height: int,
        rng: np.random.Generator,
        dataset: str | None = None,
        task: str | None = None,
    ) -> ImageFrame:
        """A random-resize augmentation of an image under this policy's budget (see ``random_resize``)."""
        budget = self.budget(dataset, task)
        resized_height, resized_width = random_resize(
            height, width, budget.min_pixels, budget.max_pixels, self.factor, rng, self.convention
        )
        return ImageFrame(width=width, height=height, resized_width=resized_width, resized_height=resized_height)
