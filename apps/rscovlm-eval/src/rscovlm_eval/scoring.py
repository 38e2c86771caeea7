"""From cached predictions to a benchmark's numbers: one scorer per metric family.

A cache entry carries the prediction, the ground truth (`target`, an rs-data annotation), the image frame the model
saw and the record's meta, so scoring needs neither the data nor the model. Entries with an `error` (unreadable
image, failed generation) are left out of the metrics and reported as `errors` with their reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rs_data.schema import POLY_TAG
from rs_detect_eval import BoxType
from rs_resolution import ImageFrame, from_model, poly_to_hbb

from rscovlm_eval.metrics.captioning import CaptioningResult, evaluate_captions
from rscovlm_eval.metrics.classification import ClassificationResult, evaluate_classification
from rscovlm_eval.metrics.detection import DetectionResult, Task1Export
from rscovlm_eval.metrics.grounding import GroundingResult, evaluate_grounding
from rscovlm_eval.metrics.lrs_vqa import LrsVqaResult, evaluate_lrs_vqa
from rscovlm_eval.metrics.multi_referring import (
    MultiReferringResult,
    evaluate_geochat_grounding,
    evaluate_multi_referring,
)
from rscovlm_eval.metrics.multiple_choice import MultipleChoiceResult, evaluate_multiple_choice
from rscovlm_eval.metrics.oriented_grounding import evaluate_oriented_grounding
from rscovlm_eval.metrics.result import Result
from rscovlm_eval.metrics.teochat import TeochatResult, evaluate_teochat
from rscovlm_eval.metrics.teochat_temporal import (
    GRID,
    Item,
    TeochatTemporalResult,
    answer_boxes,
    evaluate_teochat_temporal,
)
from rscovlm_eval.metrics.vhm import VhmResult, evaluate_vhm
from rscovlm_eval.metrics.vhm_geometry import bracket_points
from rscovlm_eval.metrics.vqa import VqaResult, evaluate_vqa
from rscovlm_eval.metrics.xlrs import XlrsResult, evaluate_xlrs
from rscovlm_eval.scoring_options import clear_predictions_for_empty_gt

Entry = dict[str, Any]


class MetricResult(Protocol):
    """What every scorer returns: a typed result with its results.json form."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class ScoringContext:
    """What a scorer needs besides the cache entries: how answers were asked for and read, and where to write."""

    convention: str
    box_type: BoxType = "poly"
    grounding_box_type: BoxType = "hbb"
    classes: str | list[str] | None = None
    export_only: bool = False
    report_dir: Path | None = None
    full_targets: dict[str, dict[str, Any]] | None = None
    vqa_match: str = "exact"  # "contains": the reference answer contained in the prediction (upstream's VRSBench rule)
    dense_det_clear_pred_for_empty_gt: bool = False  # see scoring_options.clear_predictions_for_empty_gt

    @classmethod
    def of_benchmark(cls, run: dict[str, Any], bench: dict[str, Any], **fields: Any) -> ScoringContext:
        """The context of one benchmark of a run folder's run.json: its box type, else the run's resolved ones
        (run folders written before box types were resolved: the old defaults), and its scoring options."""
        box_type = bench.get("inputs", {}).get("box_type")
        return cls(
            convention=run["spec"]["convention"],
            box_type=box_type or run["spec"].get("box_type", "poly"),
            grounding_box_type=box_type or run["spec"].get("grounding_box_type", "hbb"),
            classes=bench["classes"],
            export_only=bench["export_only"],
            **bench.get("scoring", {}),
            **fields,
        )


def _frame(entry: Entry) -> ImageFrame:
    return ImageFrame(**entry["frame"])


def score_classification(entries: list[Entry], ctx: ScoringContext) -> ClassificationResult:
    classes = sorted({c for e in entries for c in e["target"]["classes"]} | {e["target"]["label"] for e in entries})
    return evaluate_classification([e["prediction"] for e in entries], [e["target"]["label"] for e in entries], classes)


def reference_texts(entry: Entry) -> list[str]:
    """A captioning target's captions, or a free-text answer's references (GeoChat-Bench region captions)."""
    target = entry["target"]
    return target.get("captions") or (entry.get("meta") or {}).get("references") or [target["answer"]]


def score_captioning(entries: list[Entry], ctx: ScoringContext) -> CaptioningResult:
    references = {e["id"]: reference_texts(e) for e in entries}
    predictions = {e["id"]: e["prediction"] for e in entries}
    return CaptioningResult(len(entries), evaluate_captions(references, predictions))


def score_vqa(entries: list[Entry], ctx: ScoringContext) -> VqaResult:
    return evaluate_vqa(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"].get("question_type") for e in entries],
        match=ctx.vqa_match,
    )


def model_points(text: str, frame: ImageFrame, convention: str) -> np.ndarray | None:
    """The x, y pairs of an answer (VHM's bracket rule) in original pixels, from the model's coordinates."""
    points = bracket_points(text)
    return None if points is None else from_model(points, frame, convention)


def score_vhm(entries: list[Entry], ctx: ScoringContext) -> VhmResult:
    return evaluate_vhm(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"]["question_type"] for e in entries],  # the suite
        questions=[e["target"]["question"] for e in entries],
        points=[model_points(e["prediction"], _frame(e), ctx.convention) for e in entries],
        sizes=[(e["frame"]["width"], e["frame"]["height"]) for e in entries],
    )


def score_teochat(entries: list[Entry], ctx: ScoringContext) -> TeochatResult:
    return evaluate_teochat(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"]["question_type"] for e in entries],  # the item's task
        [(e.get("meta") or {}).get("dataset", "") for e in entries],
    )


def _on_grid(polygons: list[list[float]], frame: ImageFrame) -> list[list[float]]:
    scale = np.array([GRID / frame.width, GRID / frame.height])
    return [(np.asarray(p, dtype=np.float64).reshape(-1, 2) * scale).ravel().tolist() for p in polygons]


def _answer_regions(entry: Entry, ctx: ScoringContext) -> list[list[float]]:
    """The answer's boxes, read in the model's convention, as polygons in original pixels."""
    boxes = answer_boxes(entry["prediction"])
    corners = from_model(boxes.reshape(-1, 2), _frame(entry), ctx.convention).reshape(-1, 4) if len(boxes) else boxes
    return [[x1, y1, x1, y2, x2, y2, x2, y1] for x1, y1, x2, y2 in corners.tolist()]


def _true_regions(entry: Entry) -> list[list[float]]:
    """The item's ground-truth region, else the boxes of its answer (`<poly>` markers, original pixels)."""
    regions = (entry.get("meta") or {}).get("regions")
    return regions or [[float(v) for v in m.split(",")] for m in POLY_TAG.findall(entry["target"]["answer"])]


def score_teochat_temporal(entries: list[Entry], ctx: ScoringContext) -> TeochatTemporalResult:
    items = []
    for e in entries:
        frame = _frame(e)
        items.append(
            Item(
                e["prediction"],
                e["target"]["answer"],
                e["target"]["question_type"],  # the item's task
                (e.get("meta") or {}).get("dataset", ""),
                _on_grid(_answer_regions(e, ctx), frame),
                _on_grid(_true_regions(e), frame),
            )
        )
    return evaluate_teochat_temporal(items)


def score_xlrs(entries: list[Entry], ctx: ScoringContext) -> XlrsResult:
    meta = [e.get("meta") or {} for e in entries]
    return evaluate_xlrs(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"]["question_type"] for e in entries],  # the L3 task
        [m.get("l2_category") for m in meta],
        [bool(m.get("multiple")) for m in meta],
    )


def score_lrs_vqa(entries: list[Entry], ctx: ScoringContext) -> LrsVqaResult:
    return evaluate_lrs_vqa(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"].get("question_type") or "all" for e in entries],
        [e["id"] for e in entries],  # LRS-VQA's question_id, e.g. "GLH-Bridge_381"
    )


@dataclass
class ZoomSummary(Result):
    """Zoom rate (share of chains that zoomed at least once), mean zoom rounds and chain end states."""

    zoom_rate: float
    mean_rounds: float
    status: dict[str, int]


def zoom_summary(entries: list[Entry]) -> ZoomSummary | None:
    """The summary of the entries run through the Zoom-in Chain; None when none was."""
    zoomed = [e["zoom"] for e in entries if e.get("zoom") is not None]
    if not zoomed:
        return None
    return ZoomSummary(
        zoom_rate=sum(z["rounds"] > 0 for z in zoomed) / len(zoomed),
        mean_rounds=sum(z["rounds"] for z in zoomed) / len(zoomed),
        status=dict(Counter(z["status"] for z in zoomed)),
    )


def score_multiple_choice(entries: list[Entry], ctx: ScoringContext) -> MultipleChoiceResult:
    return evaluate_multiple_choice(
        [e["prediction"] for e in entries],
        [e["target"]["answer"] for e in entries],
        [e["target"].get("question_type") for e in entries],
        [e["target"].get("choices") or () for e in entries],
    )


def grounding_polygons(entries: list[Entry], ctx: ScoringContext) -> tuple[list, list]:
    """The first box of each answer as a polygon (None without one) and the target polygons, in original pixels."""
    from rs_detect_eval import parse_objects

    predictions, targets = [], []
    for e in entries:
        parsed = parse_objects(e["prediction"], ctx.grounding_box_type, _frame(e), ctx.convention)
        predictions.append(np.asarray(parsed.objects[0].polygon, dtype=float) if parsed.objects else None)
        targets.append(np.asarray(e["target"]["polygon"], dtype=float))
    return predictions, targets


def score_grounding(entries: list[Entry], ctx: ScoringContext) -> GroundingResult:
    predictions, targets = grounding_polygons(entries, ctx)
    return evaluate_grounding(
        [None if p is None else poly_to_hbb(p) for p in predictions], [poly_to_hbb(t) for t in targets]
    )


def referring_inputs(entries: list[Entry], ctx: ScoringContext) -> tuple[list, list, list[dict[str, str]]]:
    """Every box of each answer and every target of its line (polygons in original pixels), with the line's groups:
    size, type and single / multiple objects (upstream's grouping)."""
    from rs_detect_eval import parse_objects

    predictions, targets, groups = [], [], []
    for e in entries:
        parsed = parse_objects(e["prediction"], ctx.grounding_box_type, _frame(e), ctx.convention)
        predictions.append([np.asarray(o.polygon, dtype=float) for o in parsed.objects])
        meta = e.get("meta") or {}
        targets.append([np.asarray(p, dtype=float) for p in meta.get("polygons", [e["target"]["polygon"]])])
        objects = "single" if len(meta.get("obj_ids", [])) == 1 else "multiple"  # upstream's grouping
        groups.append(
            {"size": meta.get("size_group", "unknown"), "type": meta.get("type", "unknown"), "objects": objects}
        )
    return predictions, targets, groups


def score_multi_referring(entries: list[Entry], ctx: ScoringContext) -> MultiReferringResult:
    return evaluate_multi_referring(*referring_inputs(entries, ctx))


def score_geochat_grounding(entries: list[Entry], ctx: ScoringContext) -> MultiReferringResult:
    return evaluate_geochat_grounding(*referring_inputs(entries, ctx))


def score_oriented_grounding(entries: list[Entry], ctx: ScoringContext) -> GroundingResult:
    return evaluate_oriented_grounding(*grounding_polygons(entries, ctx))


def detections(entries: list[Entry], ctx: ScoringContext, classes: list[str]) -> tuple[list, dict[str, int]]:
    """ImageDet per entry (score 1 for every object: a VLM gives none) and the count of dropped fragments by reason."""
    from rs_detect_eval import ImageDet, parse_objects

    dets, dropped = [], Counter()
    for e in entries:
        parsed = parse_objects(e["prediction"], ctx.box_type, _frame(e), ctx.convention, classes=classes)
        dropped.update(d.reason for d in parsed.dropped)
        polygons = np.array([o.polygon for o in parsed.objects], dtype=float).reshape(-1, 8)
        dets.append(
            ImageDet(
                image_id=e["id"],
                polygons=polygons,
                labels=[o.label for o in parsed.objects],
                scores=np.ones(len(parsed.objects)),
            )
        )
    return dets, dict(dropped)


def ground_truths(targets: list[tuple[str, dict[str, Any]]]) -> list:
    """ImageGT per (image id, detection annotation as JSON)."""
    from rs_detect_eval import ImageGT

    gts = []
    for image_id, target in targets:
        objects = target["objects"]
        gts.append(
            ImageGT(
                image_id=image_id,
                polygons=np.array([o["polygon"] for o in objects], dtype=float).reshape(-1, 8),
                labels=[o["label"] for o in objects],
                difficult=np.array([o.get("difficult", False) for o in objects], dtype=bool),
            )
        )
    return gts


def detection_classes(entries: list[Entry], ctx: ScoringContext) -> list[str]:
    from rs_detect_eval import load_classes

    if ctx.classes:
        return load_classes(ctx.classes)
    return sorted({c for e in entries for c in e["target"]["classes"]})


def score_detection(entries: list[Entry], ctx: ScoringContext) -> DetectionResult | Task1Export:
    from rs_detect_eval import evaluate_map, evaluate_map_nc, evaluate_mf1

    classes = detection_classes(entries, ctx)
    dets, dropped = detections(entries, ctx, classes)
    if ctx.export_only:
        return replace(export_task1(dets, classes, ctx.report_dir), dropped=dropped)
    if ctx.full_targets is not None:
        dets, gts = merged_to_full_images(dets, ctx.full_targets)
    else:
        gts = ground_truths([(e["id"], e["target"]) for e in entries])
    if ctx.dense_det_clear_pred_for_empty_gt:
        dets = clear_predictions_for_empty_gt(dets, gts)
    # VOC07 11-point AP at IoU 0.5 is what DOTA_devkit's main() and mmrotate's DOTA/HRSC evaluation report by default
    return DetectionResult(
        devkit=evaluate_map(dets, gts, classes, iou_thr=0.5, convention="devkit", ap_mode="voc07"),
        mmrotate=evaluate_map(dets, gts, classes, iou_thr=0.5, convention="mmrotate", ap_mode="voc07"),
        mmrotate_area=evaluate_map(dets, gts, classes, iou_thr=0.5, convention="mmrotate", ap_mode="area"),
        map_nc=evaluate_map_nc(dets, gts, classes),
        mf1=evaluate_mf1(dets, gts, classes),
        count=len(entries),
        images=len(gts),
        dropped=dropped,
    )


def merged_to_full_images(dets: list, full_targets: dict[str, dict[str, Any]]) -> tuple[list, list]:
    """Patch answers shifted to their full image and merged with rotated NMS (DOTA_devkit's ResultMerge: original =
    (patch + offset) / rate, NMS IoU 0.1), paired with the full-image labels; an image without answers stays in."""
    from rs_detect_eval import ImageDet, merge_patches

    merged = {d.image_id: d for d in merge_patches(dets, rate_in_name=True)}
    images = sorted(full_targets)
    full_dets = [merged.get(image) or ImageDet(image, np.zeros((0, 8)), []) for image in images]
    return full_dets, ground_truths([(image, full_targets[image]) for image in images])


def export_task1(dets: list, classes: list[str], report_dir: Path) -> Task1Export:
    """Merge patch answers into full images and write the DOTA Task1 submission (a test split has no labels).

    Images whose names are not DOTA patch names (`P0001__1024__0___0`) are taken as whole images.
    """
    from rs_detect_eval import merge_patches, parse_patch_name, write_task1

    whole = {}
    for det in dets:
        try:
            parse_patch_name(det.image_id)
        except ValueError:
            whole[det.image_id] = (0.0, 0.0)
    merged = merge_patches(dets, offsets=whole)
    out = report_dir / "task1"
    write_task1(merged, out, classes, zip_path=report_dir / "task1.zip")
    return Task1Export(
        count=len(dets),
        images=len(merged),
        objects=sum(len(d.labels) for d in merged),
        task1=str(out.relative_to(report_dir.parent)),  # inside the run folder
    )


SCORERS: dict[str, Callable[[list[Entry], ScoringContext], MetricResult]] = {
    "classification": score_classification,
    "captioning": score_captioning,
    "vqa": score_vqa,
    "grounding": score_grounding,
    "oriented_grounding": score_oriented_grounding,
    "multi_referring": score_multi_referring,
    "geochat_grounding": score_geochat_grounding,
    "vhm": score_vhm,
    "teochat": score_teochat,
    "teochat_temporal": score_teochat_temporal,
    "xlrs": score_xlrs,
    "detection": score_detection,
    "lrs_vqa": score_lrs_vqa,
    "multiple_choice": score_multiple_choice,
}


@dataclass
class BenchmarkScore:
    """A benchmark's metric result (None when no entry could be scored), its failed entries' reasons with their
    counts, and the Zoom-in Chain summary."""

    result: MetricResult | None
    errors: dict[str, int]
    zoom: ZoomSummary | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        """The benchmark's entry in results.json (before the report adds its reading counts)."""
        scores = self.result.to_dict() if self.result is not None else {"count": 0}
        if self.zoom is not None:
            scores["zoom"] = self.zoom.to_dict()
        return scores | {"errors": {"count": self.error_count, "reasons": dict(self.errors)}}


def score_benchmark(metric: str, entries: list[Entry], ctx: ScoringContext) -> BenchmarkScore:
    """The benchmark's numbers, with the errored entries counted apart."""
    good = [e for e in entries if "error" not in e]
    errors = Counter(e["error"] for e in entries if "error" in e)
    return BenchmarkScore(SCORERS[metric](good, ctx) if good else None, dict(errors), zoom_summary(good))
