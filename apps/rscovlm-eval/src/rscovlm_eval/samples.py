"""What one evaluated sample shows: its boxes, its outcome by the metric's own rule, its prompt and its cache line.

Built from a run folder alone: the cache entry holds the answer, the ground truth, the image frame and the zoom
trajectory. Answers are read with `parse_objects` in the run's box type and coordinate convention, exactly as the
scorers read them; the prompt is rendered again from the cached record with the run's settings (rendering depends
on the sample alone, so it is the text the model was asked).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from rs_resolution import ImageFrame, hbb_to_poly, poly_to_hbb

from rscovlm_eval.cache import merge_shards
from rscovlm_eval.drawing import PREDICTION, TRUTH, ZOOM, Shape

TRUTH_WIDEN = 2  # ground truth is drawn 2 px thicker than predictions, so a matching prediction leaves it visible
IOU_THRESHOLD = 0.5  # detection and grounding count a box as found when IoU > 0.5, as the metrics do


@dataclass
class SampleView:
    """One sample of one benchmark, ready to draw and to list."""

    benchmark: str
    index: int
    id: str
    task: str
    image: str | None
    answer: str | None
    cache: str
    prompt: str | None = None
    error: str | None = None
    correct: bool | None = None
    classes: list[str] = field(default_factory=list)
    truth: list[Shape] = field(default_factory=list)
    prediction: list[Shape] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    zoom: list[dict[str, Any]] = field(default_factory=list)

    @property
    def windows(self) -> list[list[int]]:
        """The crop window of every zoom round that cut one (x0, y0, x1, y1 in original pixels)."""
        return [r["window"] for r in self.zoom if r.get("window")]

    @property
    def shapes(self) -> list[Shape]:
        """Every outline of the overview: ground truth, prediction, then the zoom regions."""
        zoomed = [
            Shape(tuple(hbb_to_poly(np.asarray(w, float)).tolist()), ZOOM, f"zoom {i + 1}")
            for i, w in enumerate(self.windows)
        ]
        return [*self.truth, *self.prediction, *zoomed]


def read_json(path: Path) -> Any:
    """A run folder's JSON file; a missing one is named with the hint that the folder may not be a run folder."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: is {path.parent} an evaluation run folder?") from None


def cache_lines(folder: Path) -> dict[str, str]:
    """`file:line` of each sample id's entry, the first in shard-file name order (the entry `merge_shards` keeps)."""
    lines: dict[str, str] = {}
    for path in sorted(folder.glob("predictions.rank*-of-*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    lines.setdefault(json.loads(line)["id"], f"{folder.name}/{path.name}:{number}")
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # merge_shards names a broken line; a torn last line is not part of the cache
    return lines


def _polygon(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=float).reshape(8))


class _Prompts:
    """Renders a benchmark's prompts again with the run's settings (None when the run's config no longer loads);
    a Zoom-in Chain's is its first user turn (the question and the zoom instruction, after the tool's system prompt)."""

    def __init__(self, run: dict[str, Any], task: str, zoom: bool, box_type: str | None = None) -> None:
        from rscovlm_eval.config import EvalConfig
        from rscovlm_eval.model_settings import ModelSpec

        self.task, self.zoom = task, zoom
        try:
            config = EvalConfig.model_validate(run["config"])
            spec = ModelSpec.from_dict(run["spec"])
        except (ValidationError, KeyError):
            self.policy = None
            return
        self.seed = config.seed
        self.policy = spec.policy
        self.render = spec.render_for(task, box_type)

    def __call__(self, entry: dict[str, Any]) -> str | None:
        from rs_data import ImageRef, Record
        from rs_data.render import prompt_messages, render
        from rs_zoom import zoom_question

        from rscovlm_eval.inference import sample_rng, zoom_item

        if self.policy is None or not entry.get("frame") or entry.get("target") is None:
            return None
        frame = entry["frame"]
        record = Record(
            id=entry["id"],
            dataset=entry["dataset"],
            task=self.task,
            images=[ImageRef(path=entry["image"] or "", width=frame["width"], height=frame["height"])],
            annotation=entry["target"],
            meta=entry.get("meta") or {},
        )
        sample = render(record, self.policy, self.render, sample_rng(self.seed, record.id))
        if self.zoom:
            return zoom_question(zoom_item(sample)[1])
        return "\n\n".join(
            part["text"] for message in prompt_messages(sample) for part in message["content"] if part["type"] == "text"
        )


def _detection(view: SampleView, entry: dict[str, Any], ctx: dict[str, Any]) -> None:
    from rs_detect_eval import parse_objects, poly_iou_matrix

    target = entry["target"]
    parsed = parse_objects(
        entry["prediction"],
        ctx["box_type"],
        ImageFrame(**entry["frame"]),
        ctx["convention"],
        classes=ctx["class_names"],
    )
    view.truth = [Shape(_polygon(o["polygon"]), TRUTH, o["label"], TRUTH_WIDEN) for o in target["objects"]]
    view.prediction = [Shape(_polygon(o.polygon), PREDICTION, o.label) for o in parsed.objects]
    view.dropped = [{"fragment": d.fragment, "reason": d.reason} for d in parsed.dropped]
    view.classes = sorted({s.label for s in view.truth} | {s.label for s in view.prediction})
    if ctx.get("export_only"):
        return
    ious = poly_iou_matrix(
        np.array([s.polygon for s in view.prediction]).reshape(-1, 8),
        np.array([s.polygon for s in view.truth]).reshape(-1, 8),
    )
    matched: set[int] = set()
    unmatched_predictions = 0
    for row, shape in enumerate(view.prediction):  # greedy, one truth object per prediction
        candidates = [
            (ious[row, col], col)
            for col, truth in enumerate(view.truth)
            if col not in matched and truth.label == shape.label and ious[row, col] > IOU_THRESHOLD
        ]
        if candidates:
            matched.add(max(candidates)[1])
        else:
            unmatched_predictions += 1
    missed = [i for i, o in enumerate(target["objects"]) if i not in matched and not o.get("difficult", False)]
    view.correct = not missed and not unmatched_predictions


def _grounding(view: SampleView, entry: dict[str, Any], ctx: dict[str, Any]) -> None:
    from rs_detect_eval import parse_objects

    from rscovlm_eval.metrics.grounding import hbb_iou

    parsed = parse_objects(
        entry["prediction"], ctx["grounding_box_type"], ImageFrame(**entry["frame"]), ctx["convention"]
    )
    truth = poly_to_hbb(np.asarray(entry["target"]["polygon"], dtype=float))
    view.truth = [Shape(_polygon(entry["target"]["polygon"]), TRUTH, widen=TRUTH_WIDEN)]
    view.references = [entry["target"]["expression"]]
    view.dropped = [{"fragment": d.fragment, "reason": d.reason} for d in parsed.dropped]
    if parsed.objects:  # the scorer keeps the first box, as an axis-aligned box
        box = poly_to_hbb(parsed.objects[0].polygon)
        view.prediction = [Shape(_polygon(hbb_to_poly(box)), PREDICTION)]
        view.correct = hbb_iou(box, truth) > IOU_THRESHOLD
    else:
        view.correct = False


def _referring(view: SampleView, entry: dict[str, Any], ctx: dict[str, Any]) -> None:
    """Multi-object referring: every answer box against every target, correct by the benchmark's per-line rule
    (upstream's F1 = 1, or GeoChat's: every target box found)."""
    from rscovlm_eval.metrics.multi_referring import boxes_found, sample_f1
    from rscovlm_eval.scoring import referring_inputs

    (predictions,), (targets,), _ = referring_inputs([entry], ctx["scoring"])
    view.truth = [Shape(_polygon(t), TRUTH, widen=TRUTH_WIDEN) for t in targets]
    view.prediction = [Shape(_polygon(p), PREDICTION) for p in predictions]
    view.references = [entry["target"].get("expression", "")]
    if ctx["metric"] == "geochat_grounding":
        view.correct = boxes_found(predictions, targets) == len(targets)
    else:
        view.correct = sample_f1(predictions, targets) == 1.0


def _answered(view: SampleView, entry: dict[str, Any], ctx: dict[str, Any]) -> None:
    """Classification, captioning and the VQA families: the references and the metric's per-sample rule."""
    from rscovlm_eval.metrics.classification import match_class
    from rscovlm_eval.metrics.lrs_vqa import lrs_correct
    from rscovlm_eval.metrics.multiple_choice import extract_choice
    from rscovlm_eval.metrics.vqa import answers_match

    target, prediction, metric = entry["target"], entry["prediction"], ctx["metric"]
    if metric == "classification":
        view.references, view.classes = [target["label"]], [target["label"]]
        view.correct = match_class(prediction, [target["label"]]) == target["label"]
        return
    if metric == "captioning":
        view.references = list(target["captions"])
        return
    view.references = [target["answer"]]
    view.classes = [target["question_type"]] if target.get("question_type") else []
    view.truth = [Shape(_polygon(p), TRUTH, "evidence", TRUTH_WIDEN) for p in target.get("evidence") or []]
    if metric == "vqa":
        view.correct = answers_match(prediction, target["answer"])
    elif metric == "lrs_vqa":
        view.correct = lrs_correct(prediction, target["answer"])
    elif metric in ("multiple_choice", "xlrs"):
        view.correct = extract_choice(prediction, target.get("choices") or ()) == target["answer"].strip()
    # the other families (VHM-Eval, TEOChatlas) score by suite-specific rules: their samples stay unscored here


def benchmark_views(
    run_dir: Path, bench: dict[str, Any], run: dict[str, Any] | None = None, ids: Collection[str] | None = None
) -> list[SampleView]:
    """The view of every cached sample of one benchmark of a run (or of those in `ids`), in the benchmark's order."""
    from rscovlm_eval.scoring import ScoringContext, detection_classes

    run = run if run is not None else read_json(run_dir / "run.json")
    folder = run_dir / bench["key"]
    entries, _ = merge_shards(folder, read_json(folder / "manifest.json")["ids"])
    lines = cache_lines(folder)
    scoring = ScoringContext.of_benchmark(run, bench)
    ctx = {
        "metric": bench["metric"],
        "convention": scoring.convention,
        "box_type": scoring.box_type,
        "grounding_box_type": scoring.grounding_box_type,
        "classes": bench["classes"],
        "scoring": scoring,  # the benchmark's own context, for the rules that call the scorer's helpers
        "export_only": bench["export_only"],
    }
    if bench["metric"] == "detection":
        ctx["class_names"] = detection_classes([e for e in entries if "error" not in e], scoring)
    prompts = _Prompts(run, bench["task"], bool(bench.get("zoom")), bench.get("inputs", {}).get("box_type"))
    fill = {
        "detection": _detection,
        "grounding": _grounding,
        "multi_referring": _referring,
        "geochat_grounding": _referring,
    }.get(bench["metric"], _answered)
    views = []
    for index, entry in enumerate(entries):
        if ids is not None and entry["id"] not in ids:
            continue
        view = SampleView(
            benchmark=bench["key"],
            index=index,
            id=entry["id"],
            task=bench["task"],
            image=entry.get("image"),
            answer=entry.get("prediction"),
            cache=lines.get(entry["id"], f"{folder.name}/"),
            prompt=prompts(entry),
            error=entry.get("error"),
            zoom=(entry.get("zoom") or {}).get("trajectory") or [],
        )
        if view.error is None:
            fill(view, entry, ctx)
        views.append(view)
    return views


def find_view(run_dir: Path, sample_id: str, benchmark: str | None = None) -> SampleView:
    """The view of `sample_id`; `benchmark` (a key of the run) is needed when several benchmarks hold that id."""
    run = read_json(run_dir / "run.json")
    keys = [b["key"] for b in run["benchmarks"]]
    if benchmark is not None and benchmark not in keys:
        raise KeyError(f"{run_dir} has no benchmark {benchmark!r}; it has: {', '.join(keys)}")
    holding = [
        b
        for b in run["benchmarks"]
        if (benchmark is None or b["key"] == benchmark)
        and sample_id in read_json(run_dir / b["key"] / "manifest.json")["ids"]
    ]
    if not holding:
        raise KeyError(f"no sample {sample_id!r} in {run_dir}" + (f" / {benchmark}" if benchmark else ""))
    if len(holding) > 1:
        raise KeyError(
            f"sample {sample_id!r} is in several benchmarks ({', '.join(b['key'] for b in holding)}); "
            "choose one with --benchmark"
        )
    views = benchmark_views(run_dir, holding[0], run, ids={sample_id})
    if not views:
        raise KeyError(f"sample {sample_id!r} of {holding[0]['key']} has no prediction yet")
    return views[0]
