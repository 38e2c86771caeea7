"""mAP on a DOTA-val-scale seeded set: rs_detect_eval (both conventions) against mmrotate 0.3.4 `eval_rbbox_map`.

Run: `uv run --no-sync python benchmarks/rs_detect_eval_map.py [--images 460] [--seed 0]`. Needs the mmrotate extra for
the baseline. The set: DOTA-v1.0 classes with DOTA-val-like class frequencies, ~30k rotated ground-truth objects over
460 images, ~3.4 jittered detections per object (some relabelled) plus random false positives, scores in 0.001 steps.
mmrotate runs as users run it: its own process pool (4 workers), started inside the call.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rs_detect_eval import CLASS_SETS, ImageDet, ImageGT, evaluate_map
from rs_resolution import obb_to_poly

CLASSES = CLASS_SETS["dota1.0"]
# DOTA-v1.0 val instance counts per class, in CLASSES order (rounded)
CLASS_WEIGHTS = np.array([2500, 200, 460, 140, 5100, 4400, 8000, 760, 130, 2900, 150, 180, 2100, 440, 70], float)
OBJECT_SIZE = {"small-vehicle": 14, "large-vehicle": 40, "ship": 30, "plane": 60, "storage-tank": 30, "harbor": 80}


def make_set(num_images: int, seed: int) -> tuple[list[ImageGT], list[ImageDet]]:
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for index in range(num_images):
        width = int(rng.integers(800, 4000))
        count = int(np.clip(rng.lognormal(3.7, 1.0), 1, 2000))
        classes = rng.choice(len(CLASSES), count, p=CLASS_WEIGHTS / CLASS_WEIGHTS.sum())
        sizes = np.array([OBJECT_SIZE.get(CLASSES[c], 50) for c in classes]) * rng.uniform(0.6, 1.6, count)
        obb = np.c_[rng.uniform(0, width, (count, 2)), sizes, sizes * rng.uniform(0.3, 1.0, count)]
        obb = np.c_[obb, rng.uniform(-90, 90, count)]
        image_id = f"P{index:04d}"
        gts.append(ImageGT(image_id, obb_to_poly(obb), [CLASSES[c] for c in classes], rng.random(count) < 0.1))
        source = np.repeat(np.arange(count), rng.poisson(3.0, count))
        jitter = obb[source] + rng.normal(0, 1, (len(source), 5)) * np.c_[
            0.15 * obb[source, 2:4], 0.1 * obb[source, 2:4], np.full(len(source), 6.0)
        ][:, [0, 1, 2, 3, 4]] * rng.uniform(0.3, 1.5, (len(source), 1))
        jitter[:, 2:4] = np.abs(jitter[:, 2:4]) + 2.0
        labels = classes[source].copy()
        swap = rng.random(len(labels)) < 0.08
        labels[swap] = rng.integers(0, len(CLASSES), int(swap.sum()))
        extra = int(rng.poisson(0.4 * count))
        noise = np.c_[rng.uniform(0, width, (extra, 2)), rng.uniform(8, 80, (extra, 2)), rng.uniform(-90, 90, extra)]
        labels = np.r_[labels, rng.integers(0, len(CLASSES), extra)]
        scores = np.round(np.r_[rng.beta(5, 2, len(source)), rng.beta(2, 5, extra)], 3)
        polygons = obb_to_poly(np.r_[jitter, noise])
        dets.append(ImageDet(image_id, polygons, [CLASSES[c] for c in labels], scores))
    return gts, dets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=460)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gts, dets = make_set(args.images, args.seed)
    num_gt = sum(len(g.labels) for g in gts)
    num_det = sum(len(d.labels) for d in dets)
    print(f"set: {len(gts)} images, {num_gt} ground-truth objects, {num_det} detections")

    timings = {}
    results = {}
    for convention in ("devkit", "mmrotate"):
        start = time.perf_counter()
        results[convention] = evaluate_map(dets, gts, CLASSES, convention=convention, ap_mode="voc07")
        timings[convention] = time.perf_counter() - start
        print(f"rs_detect_eval {convention:8s}: mAP {results[convention].map:.6f} in {timings[convention]:.3f} s")

    try:
        from rs_detect_eval.mmrotate_backend import evaluate_map_mmrotate

        start = time.perf_counter()
        reference = evaluate_map_mmrotate(dets, gts, CLASSES, ap_mode="voc07", nproc=4)
        baseline = time.perf_counter() - start
    except RuntimeError as error:
        print(f"baseline skipped: {error}")
        return
    print(f"mmrotate eval_rbbox_map : mAP {reference.map:.6f} in {baseline:.3f} s (4 processes)")
    ours = results["mmrotate"]
    worst = max(abs(ours.per_class[c].ap - reference.per_class[c].ap) for c in CLASSES)
    same_counts = all(
        (ours.per_class[c].num_gt, ours.per_class[c].num_det)
        == (reference.per_class[c].num_gt, reference.per_class[c].num_det)
        for c in CLASSES
    )
    gap = abs(ours.map - reference.map)
    agree = same_counts and gap <= 1e-9 and worst <= 1e-9
    print(f"agreement: |mAP diff| {gap:.2e}, max |AP diff| {worst:.2e}, counts equal {same_counts} -> {agree}")
    print(f"speed-up (mmrotate / rs_detect_eval mmrotate convention): {baseline / timings['mmrotate']:.1f}x")
    if not agree:
        raise SystemExit("rs_detect_eval and mmrotate disagree")


if __name__ == "__main__":
    main()
