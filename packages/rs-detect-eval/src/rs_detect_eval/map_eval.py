"""Rotated-box mAP under three conventions, vectorised over all images and classes at once.

`devkit` reproduces DOTA_devkit `dota_evaluation_task1.py` (`voc_eval` per class, `main` for the mean): polygons as
given and compared by polyiou's arithmetic (`iou_rules`, `polyiou`), with ground truth whose axis-aligned box lies
within 1 px of the detection's as candidates; a detection's match is the candidate of its class and image with the
highest IoU (the first on ties; a NaN IoU among the candidates makes the detection a false positive, as `np.max`
does), a true positive when IoU > thr (strictly) and no higher-ranked detection took that object; difficult ground
truth is left out of npos and a detection whose match is difficult counts neither as true nor as false positive;
recall = tp / npos and precision = tp / max(tp + fp, eps) in float64; VOC AP 11-point (recall thresholds 0.1 * i) or
all-point; mAP = the sum of all classes' AP divided by the number of classes. Two cases the devkit cannot score get
AP 0 here: a class without positives (npos = 0: the devkit's 11-point AP is 0, its all-point AP NaN from 0 / 0,
which would make the mAP NaN) and a class without detections (the devkit fails on an empty or missing Task1 file).

`valid` is `devkit` with the principled IoU of `iou.py` (bow-ties repaired to their convex hull, IoU in [0, 1], a
zero-area polygon overlaps nothing): the same protocol, numbers that do not depend on vertex order or on where the
image origin lies. Recommended for new work; `devkit` for numbers comparable with papers and the DOTA server.

`mmrotate` reproduces mmrotate 0.3.4 `eval_rbbox_map`: every polygon is first reduced to its minimum-area rectangle
(mmrotate evaluates rotated rectangles), a detection matches when IoU >= thr, difficult objects are ordinary ground
truth unless `difficult_as_ignore` (then they play mmrotate's `bboxes_ignore` role), float32 precision and AP, and
mAP = mean over the classes that have ground truth.

In all three, each detection is compared with its single best ground truth of the same class and image (the first
one on ties); only the highest-ranked detection on an unmatched ground truth is a true positive.

Tie order: detections are listed as each reference sees them -- `devkit` and `valid`: in the order given (for Task1
files, the order of the lines of each class file, which `read_task1_dir` keeps); `mmrotate`: image by image in
ground-truth order, then in the order given within an image. With `tie_order="reference"` they are ranked by
`numpy.argsort` of the negated scores over that listing -- the very call both references make, so equal scores resolve
as they do there. `"input"` ranks ties in listing order (stable), and an integer ranks ties in a random order drawn
with that seed. numpy's default argsort is not stable (and its order of ties may vary with the numpy version and CPU),
so `"reference"` equals the reference run with the same numpy on the same machine.

Detections of an image without ground truth raise `UnknownImageError` listing those images, unless
`unknown_images="ignore"` (then they are left out and counted in `MapResult.ignored_images`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rs_detect_eval.average_precision import ApMode, voc_ap_devkit, voc_ap_mmrotate
from rs_detect_eval.classes import normalize_class
from rs_detect_eval.iou import polygon_defects
from rs_detect_eval.iou_rules import rule_ious, rule_polygons
from rs_detect_eval.records import ImageDet, ImageGT, UnknownImages, image_positions, known_images

MapConvention = Literal["devkit", "mmrotate", "valid"]
CONVENTIONS: tuple[str, ...] = ("devkit", "mmrotate", "valid")
TieOrder = Literal["reference", "input"] | int


@dataclass
class ClassResult:
    """AP of one class with its ranked precision/recall curve."""

    ap: float
    num_gt: int
    num_det: int
    precision: np.ndarray
    recall: np.ndarray


@dataclass
class MapResult:
    """mAP over classes, with what the evaluation met on the way.

    `unknown_labels` counts detections and ground truth whose class is not evaluated; `defects` the bow-tie,
    degenerate and non-finite polygons among the evaluated detections and ground truth (the IoU rules differ on
    them); `ignored_images` the detections left out because their image has no ground truth; `exact_pairs` the
    pairs the `devkit` rule sent through the exact polyiou port; `notes` says what the numbers cannot show.
    """

    map: float
    per_class: dict[str, ClassResult]
    convention: str
    ap_mode: str
    iou_thr: float
    unknown_labels: dict[str, int] = field(default_factory=dict)
    defects: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_images: dict[str, int] = field(default_factory=dict)
    exact_pairs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def iou_rule(self) -> str:
        """The IoU rule, named as the convention that defines it."""
        return self.convention

    def to_dict(self) -> dict:
        """JSON-ready summary: {"map", "per_class": {cls: {"ap", "num_gt", "num_det"}}, settings}."""
        return {
            "map": self.map,
            "per_class": {
                name: {"ap": result.ap, "num_gt": result.num_gt, "num_det": result.num_det}
                for name, result in self.per_class.items()
            },
            "convention": self.convention,
            "iou_rule": self.iou_rule,
            "ap_mode": self.ap_mode,
            "iou_thr": self.iou_thr,
            "unknown_labels": dict(self.unknown_labels),
            "defects": {side: dict(counts) for side, counts in self.defects.items()},
            "ignored_images": dict(self.ignored_images),
            "exact_pairs": self.exact_pairs,
            "notes": list(self.notes),
        }


@dataclass
class _Flat:
    """Objects of all images flattened into arrays."""

    image: np.ndarray
    cls: np.ndarray
    polygons: np.ndarray
    values: np.ndarray  # scores for detections, difficult flags for ground truth


def _flatten(
    items: Sequence[ImageGT] | Sequence[ImageDet],
    image_index: dict[str, int],
    class_index: dict[str, int],
    unknown: Counter,
    by_image: bool,
) -> _Flat:
    """Objects of every item in the order given, or image by image (stable) with `by_image`."""
    images, classes, polygons, values = [], [], [], []
    label_ids: dict[str, int] = {}
    for item in items:
        for label in item.labels:
            if label not in label_ids:
                label_ids[label] = class_index.get(normalize_class(label), -1)
        ids = np.array([label_ids[label] for label in item.labels], dtype=np.int64)
        for label, cls in zip(item.labels, ids, strict=True):
            if cls < 0:
                unknown[label] += 1
        keep = ids >= 0
        images.append(np.full(int(keep.sum()), image_index[item.image_id], dtype=np.int64))
        classes.append(ids[keep])
        polygons.append(item.polygons[keep])
        values.append(item.scores[keep] if isinstance(item, ImageDet) else item.difficult[keep])
    if not images:
        return _Flat(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 8)), np.zeros(0))
    flat = _Flat(np.concatenate(images), np.concatenate(classes), np.concatenate(polygons), np.concatenate(values))
    if not by_image:
        return flat
    order = np.argsort(flat.image, kind="stable")
    return _Flat(flat.image[order], flat.cls[order], flat.polygons[order], flat.values[order])


def _ranked(scores: np.ndarray, tie_order: TieOrder) -> np.ndarray:
    """Indices of `scores` from the highest to the lowest, ties resolved by `tie_order`."""
    if tie_order == "reference":
        return np.argsort(-scores)
    if tie_order == "input":
        return np.argsort(-scores, kind="stable")
    tie_key = np.random.default_rng(tie_order).permutation(len(scores))
    return np.lexsort((tie_key, -scores))


def _class_ranks(scores: np.ndarray, classes: np.ndarray, num_classes: int, tie_order: TieOrder) -> np.ndarray:
    """Rank of each detection within its class, from the highest score down; ties resolved by `tie_order`."""
    rank = np.empty(len(scores), dtype=np.int64)
    for index in range(num_classes):
        members = np.flatnonzero(classes == index)
        rank[members[_ranked(scores[members], tie_order)]] = np.arange(len(members))
    return rank


def _image_ranks(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rank of each detection within its group as numpy's default argsort of the group's negated scores gives it.

    This is the order mmrotate processes one image's detections of one class in. A single lexsort gives the same
    order wherever a group has no tied scores, so only groups with ties are sorted one by one.
    """
    order = np.lexsort((-scores, groups))
    rank = np.empty(len(scores), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    rank[order] = np.arange(len(scores)) - np.repeat(starts, np.diff(np.r_[starts, len(scores)]))
    tied = np.flatnonzero((groups[order][1:] == groups[order][:-1]) & (scores[order][1:] == scores[order][:-1]))
    bounds = np.r_[starts, len(scores)]
    for segment in np.unique(np.searchsorted(starts, tied, side="right") - 1):
        members = np.sort(order[bounds[segment] : bounds[segment + 1]])
        rank[members[np.argsort(-scores[members])]] = np.arange(len(members))
    return rank


def _true_positives(
    dets: _Flat, gts: _Flat, ignore: np.ndarray, iou_thr: float, convention: MapConvention, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-detection true/false positive flags (a detection matched to an ignored object is neither), and the number
    of pairs the exact devkit port computed.

    `rank` orders the detections of one image and class: the higher-ranked one claims a shared best match.
    """
    num_images = int(max(dets.image.max(initial=-1), gts.image.max(initial=-1))) + 1
    det_group = dets.cls * num_images + dets.image
    gt_group = gts.cls * num_images + gts.image
    det_rows, gt_rows, ious, exact = rule_ious(convention, dets.polygons, gts.polygons, det_group, gt_group, iou_thr)
    gt_order = np.arange(len(ignore))
    if convention == "mmrotate":
        ious = ious.astype(np.float32)
        gt_order = gt_order + np.where(ignore, len(ignore), 0)  # mmrotate stacks ignored boxes after the others
    # best ground truth per detection: highest IoU, the first in the reference's ground-truth order on ties
    by_best = np.lexsort((gt_order[gt_rows], -ious, det_rows))
    best = by_best[np.unique(det_rows[by_best], return_index=True)[1]]
    best_iou = np.zeros(len(dets.image), dtype=ious.dtype)
    best_gt = np.full(len(dets.image), -1, dtype=np.int64)
    best_iou[det_rows[best]] = ious[best]
    best_gt[det_rows[best]] = gt_rows[best]
    passed = best_iou >= np.float32(iou_thr) if convention == "mmrotate" else best_iou > iou_thr
    passed &= best_gt >= 0
    passed[det_rows[np.isnan(ious)]] = False  # np.max over the candidates is NaN
    counted = passed & ~ignore[np.maximum(best_gt, 0)] if len(ignore) else passed
    candidates = np.flatnonzero(counted)
    claims = candidates[np.lexsort((rank[candidates], best_gt[candidates]))]
    tp = np.zeros(len(dets.image), dtype=bool)
    tp[claims[np.unique(best_gt[claims], return_index=True)[1]]] = True
    return tp, ~passed | (counted & ~tp), exact


def _class_curve(
    tp: np.ndarray, fp: np.ndarray, order: np.ndarray, num_pos: int, convention: MapConvention
) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision down the ranked detections of one class, in the reference's arithmetic."""
    if convention == "mmrotate":
        tp_sum = np.cumsum(tp[order].astype(np.float32))
        fp_sum = np.cumsum(fp[order].astype(np.float32))
        eps32 = np.finfo(np.float32).eps
        return tp_sum / np.maximum(np.array(num_pos), eps32), tp_sum / np.maximum(tp_sum + fp_sum, eps32)
    tp_sum = np.cumsum(tp[order].astype(np.float64))
    fp_sum = np.cumsum(fp[order].astype(np.float64))
    recall = tp_sum / float(num_pos) if num_pos else np.zeros_like(tp_sum)
    return recall, tp_sum / np.maximum(tp_sum + fp_sum, np.finfo(np.float64).eps)


def evaluate_map(
    dets: Sequence[ImageDet],
    gts: Sequence[ImageGT],
    classes: Sequence[str],
    iou_thr: float = 0.5,
    convention: MapConvention = "devkit",
    ap_mode: ApMode = "voc07",
    difficult_as_ignore: bool = False,
    tie_order: TieOrder = "reference",
    unknown_images: UnknownImages = "error",
) -> MapResult:
    """mAP of rotated detections against ground truth; see the module docstring for the three conventions.

    `difficult_as_ignore` only applies to `mmrotate` (`devkit` and `valid` always ignore difficult objects).
    Detections and ground truth whose class is not in `classes` are counted in `MapResult.unknown_labels` and left
    out; detections of images without ground truth raise UnknownImageError unless `unknown_images="ignore"`.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}: use one of {', '.join(CONVENTIONS)}")
    if ap_mode not in ("voc07", "area"):
        raise ValueError(f"unknown ap_mode {ap_mode!r}: use 'voc07' or 'area'")
    if not 0.0 < iou_thr <= 1.0:
        raise ValueError(f"iou_thr must lie in (0, 1], got {iou_thr}")
    if unknown_images not in ("error", "ignore"):
        raise ValueError(f"unknown_images must be 'error' or 'ignore', got {unknown_images!r}")
    image_index = image_positions(gts)
    dets, ignored_images = known_images(dets, image_index, unknown_images)
    class_index = {normalize_class(name): i for i, name in enumerate(classes)}
    unknown: Counter = Counter()
    gt_flat = _flatten(gts, image_index, class_index, unknown, by_image=False)
    det_flat = _flatten(dets, image_index, class_index, unknown, by_image=convention == "mmrotate")
    defects = {"detections": polygon_defects(det_flat.polygons), "ground_truth": polygon_defects(gt_flat.polygons)}
    gt_flat.polygons = rule_polygons(gt_flat.polygons, convention)
    det_flat.polygons = rule_polygons(det_flat.polygons, convention)
    ignore = gt_flat.values.astype(bool)
    if convention == "mmrotate":
        ignore &= difficult_as_ignore
    scores = det_flat.values.astype(np.float32) if convention == "mmrotate" else det_flat.values
    class_rank = _class_ranks(scores, det_flat.cls, len(classes), tie_order)
    if convention == "mmrotate" and tie_order == "reference":
        match_rank = _image_ranks(scores, det_flat.cls * len(gts) + det_flat.image)
    else:
        match_rank = class_rank
    tp, fp, exact_pairs = _true_positives(det_flat, gt_flat, ignore, iou_thr, convention, match_rank)

    voc_ap = voc_ap_mmrotate if convention == "mmrotate" else voc_ap_devkit
    per_class: dict[str, ClassResult] = {}
    for index, name in enumerate(classes):
        members = np.flatnonzero(det_flat.cls == index)
        order = members[np.argsort(class_rank[members])]
        num_pos = int(np.sum((gt_flat.cls == index) & ~ignore))
        recall, precision = _class_curve(tp, fp, order, num_pos, convention)
        ap = voc_ap(recall, precision, ap_mode) if num_pos else 0.0
        per_class[name] = ClassResult(ap, num_pos, len(members), precision, recall)
    notes = []
    if not len(gt_flat.image):
        notes.append("no image has a ground-truth object of the evaluated classes: every AP is 0")
    return MapResult(
        map=_mean_ap(per_class, convention),
        per_class=per_class,
        convention=convention,
        ap_mode=ap_mode,
        iou_thr=iou_thr,
        unknown_labels=dict(unknown),
        defects=defects,
        ignored_images=ignored_images,
        exact_pairs=exact_pairs,
        notes=notes,
    )


def _mean_ap(per_class: dict[str, ClassResult], convention: MapConvention) -> float:
    if convention == "mmrotate":
        aps = [result.ap for result in per_class.values() if result.num_gt > 0]
        return float(np.array(aps, dtype=np.float32).mean()) if aps else 0.0
    total = 0.0
    for result in per_class.values():
        total = total + result.ap
    return total / len(per_class) if per_class else 0.0
