"""mAP on a DOTA-val-scale seeded set: rs_detect_eval (all three conventions) against mmrotate 0.3.4 `eval_rbbox_map`.

Run: `uv run --no-sync python benchmarks/rs_detect_eval_map.py [--images 460] [--seed 0] [--bow-ties 0.0]`. Needs the
mmrotate extra for the baseline. The set: DOTA-v1.0 classes with DOTA-val-like class frequencies, ~30k rotated
ground-truth objects over 460 images, ~3.4 jittered detections per object (some relabelled) plus random false
positives, scores in 0.001 steps; `--bow-ties` lists that fraction of detections with two vertices swapped.
mmrotate runs as users run it, its own process pool started inside the call, at nproc 1 and 2; the faster is the
baseline. Checks: `mmrotate` equals mmrotate's AP per class, and `devkit` equals `valid` when there is no bow-tie.
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


def make_set(num_images: int, seed: int, bow_ties: float = 0.0) -> tuple[list[ImageGT], list[ImageDet]]:
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
        if bow_ties:
            crossed = rng.random(len(polygons)) < bow_ties
            polygons[crossed] = polygons[crossed].reshape(-1, 4, 2)[:, [0, 2, 1, 3]].reshape(-1, 8)
        dets.append(ImageDet(image_id, polygons, [CLASSES[c] for c in labels], scores))
    return gts, dets


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _same_ap(a, b, tolerance: float) -> bool:
    counts = all(
        (a.per_class[c].num_gt, a.per_class[c].num_det) == (b.per_class[c].num_gt, b.per_class[c].num_det)
        for c in CLASSES
    )
    return counts and all(abs(a.per_class[c].ap - b.per_class[c].ap) <= tolerance for c in CLASSES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=460)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bow-ties", type=float, default=0.0, help="Fraction of detections with crossed vertices.")
    args = parser.parse_args()
    gts, dets = make_set(args.images, args.seed, args.bow_ties)
    num_gt = sum(len(g.labels) for g in gts)
    num_det = sum(len(d.labels) for d in dets)
    print(f"set: {len(gts)} images, {num_gt} ground-truth objects, {num_det} detections")

    results, timings = {}, {}
    for convention in ("devkit", "mmrotate", "valid"):
        results[convention], timings[convention] = _timed(evaluate_map, dets, gts, CLASSES, convention=convention)
        extra = (
            f", {results[convention].exact_pairs} pairs through the exact polyiou port"
            if convention == "devkit"
            else ""
        )
        print(
            f"rs_detect_eval {convention:8s}: mAP {results[convention].map:.6f} in {timings[convention]:.3f} s{extra}"
        )
    if args.bow_ties == 0:
        coincide = _same_ap(results["devkit"], results["valid"], 0.0)
        print(f"devkit and valid coincide on convex boxes: {coincide}")
        if not coincide:
            raise SystemExit("devkit and valid disagree on a set without bow-ties")

    from rs_detect_eval.mmrotate_backend import evaluate_map_mmrotate

    baselines = {}
    for nproc in (1, 2):
        try:
            reference, baselines[nproc] = _timed(
                evaluate_map_mmrotate, dets, gts, CLASSES, ap_mode="voc07", nproc=nproc
            )
        except RuntimeError as error:
            print(f"baseline skipped: {error}")
            return
        print(f"mmrotate eval_rbbox_map  : mAP {reference.map:.6f} in {baselines[nproc]:.3f} s (nproc {nproc})")
    fastest = min(baselines, key=baselines.get)
    baseline = baselines[fastest]
    agree = _same_ap(results["mmrotate"], reference, 1e-9) and abs(results["mmrotate"].map - reference.map) <= 1e-9
    print(f"mmrotate convention equals eval_rbbox_map per class (1e-9): {agree}")
    for convention, seconds in timings.items():
        print(f"speed-up over eval_rbbox_map at nproc {fastest}, {convention:8s}: {baseline / seconds:.1f}x")
    if not agree:
        raise SystemExit("rs_detect_eval and mmrotate disagree")


if __name__ == "__main__":
    main()
