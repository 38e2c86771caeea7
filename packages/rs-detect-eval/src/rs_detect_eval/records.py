"""Per-image ground truth and detections: the two inputs of every metric here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

UnknownImages = Literal["error", "ignore"]


def _as_polygons(value: object, image_id: str, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 8), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 8:
        raise ValueError(f"{image_id}: {what} polygons must have shape (N, 8), got {array.shape}")
    return array


@dataclass
class ImageGT:
    """Ground truth of one image: polygons (N, 8) in original pixels, class names, difficult flags."""

    image_id: str
    polygons: np.ndarray
    labels: list[str]
    difficult: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.polygons = _as_polygons(self.polygons, self.image_id, "ground-truth")
        self.labels = list(self.labels)
        if self.difficult is None:
            self.difficult = np.zeros(len(self.labels), dtype=bool)
        self.difficult = np.asarray(self.difficult, dtype=bool).reshape(-1)
        if not len(self.polygons) == len(self.labels) == len(self.difficult):
            raise ValueError(
                f"{self.image_id}: {len(self.polygons)} polygons, {len(self.labels)} labels, "
                f"{len(self.difficult)} difficult flags"
            )


@dataclass
class ImageDet:
    """Detections of one image: polygons (M, 8) in original pixels, class names, scores (1.0 when unscored)."""

    image_id: str
    polygons: np.ndarray
    labels: list[str]
    scores: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.polygons = _as_polygons(self.polygons, self.image_id, "detection")
        self.labels = list(self.labels)
        if self.scores is None:
            self.scores = np.ones(len(self.labels), dtype=np.float64)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if not np.isfinite(self.scores).all():
            raise ValueError(f"{self.image_id}: detection scores must be finite")
        if not len(self.polygons) == len(self.labels) == len(self.scores):
            raise ValueError(
                f"{self.image_id}: {len(self.polygons)} polygons, {len(self.labels)} labels, {len(self.scores)} scores"
            )

    def subset(self, keep: np.ndarray) -> ImageDet:
        """The detections selected by a boolean mask or index array."""
        index = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=np.int64)
        return ImageDet(self.image_id, self.polygons[index], [self.labels[i] for i in index], self.scores[index])


def image_positions(gts: Iterable[ImageGT]) -> dict[str, int]:
    """Position of each image in the ground truth; an image given twice raises ValueError."""
    positions: dict[str, int] = {}
    for gt in gts:
        if gt.image_id in positions:
            raise ValueError(f"ground truth of image {gt.image_id!r} given twice")
        positions[gt.image_id] = len(positions)
    return positions


class UnknownImageError(ValueError):
    """Detections name images that have no ground truth; lists them."""

    def __init__(self, images: Sequence[str]) -> None:
        shown = ", ".join(repr(i) for i in images[:20]) + (f" and {len(images) - 20} more" if len(images) > 20 else "")
        super().__init__(
            f"detections for {len(images)} image(s) without ground truth: {shown} "
            "(check the ground-truth folder, or ignore them and count them with --ignore-unknown-images)"
        )
        self.images = list(images)


def known_images(
    dets: Sequence[ImageDet], image_index: dict[str, int], unknown_images: UnknownImages
) -> tuple[list[ImageDet], dict[str, int]]:
    """The detections of images with ground truth, and the number of detections left out per other image."""
    outside: Counter = Counter()
    for det in dets:
        if det.image_id not in image_index:
            outside[det.image_id] += len(det.labels)
    if outside and unknown_images == "error":
        raise UnknownImageError(sorted(outside))
    return [det for det in dets if det.image_id in image_index], dict(outside)
