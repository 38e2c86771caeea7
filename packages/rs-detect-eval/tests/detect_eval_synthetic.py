"""Test helpers: seeded synthetic detections around real ground truth, and boxes for hand-computed cases."""

from __future__ import annotations

import numpy as np
from rs_detect_eval import ImageDet, ImageGT
from rs_resolution import obb_to_poly, poly_to_obb

#: A 10 x 10 axis-aligned square at the origin, for hand-computed cases.
BOX = np.array([0, 0, 10, 0, 10, 10, 0, 10], dtype=float)


def shifted(dx: float, dy: float = 0.0) -> np.ndarray:
    """BOX moved by (dx, dy)."""
    return BOX + np.array([dx, dy] * 4)


def synthetic_detections(gts: list[ImageGT], classes: list[str], seed: int, per_gt: float = 2.0) -> list[ImageDet]:
    """Jittered copies of the ground truth (some relabelled), plus random false positives; rounded scores make ties."""
    rng = np.random.default_rng(seed)
    dets = []
    for gt in gts:
        obb = poly_to_obb(gt.polygons) if len(gt.polygons) else np.zeros((0, 5))
        copies = rng.poisson(per_gt, len(obb))
        source = np.repeat(np.arange(len(obb)), copies)
        jitter = obb[source] + rng.normal(0, 1, (len(source), 5)) * [2.0, 2.0, 2.0, 1.0, 4.0] * rng.uniform(
            0.2, 2.0, (len(source), 1)
        )
        jitter[:, 2:4] = np.abs(jitter[:, 2:4]) + 1.0
        labels = [gt.labels[i] for i in source]
        swap = rng.random(len(labels)) < 0.1
        labels = [str(rng.choice(classes)) if s else label for label, s in zip(labels, swap, strict=True)]
        extra = int(rng.integers(0, 6))
        width = float(gt.polygons[:, 0::2].max()) if len(gt.polygons) else 800.0
        noise = np.c_[rng.uniform(0, width, (extra, 2)), rng.uniform(5, 60, (extra, 2)), rng.uniform(-90, 90, extra)]
        polygons = np.concatenate([obb_to_poly(jitter), obb_to_poly(noise)]) if len(jitter) + extra else None
        labels += [str(rng.choice(classes)) for _ in range(extra)]
        scores = np.round(rng.uniform(0, 1, len(labels)), 2)
        dets.append(ImageDet(gt.image_id, polygons if polygons is not None else np.zeros((0, 8)), labels, scores))
    return dets
