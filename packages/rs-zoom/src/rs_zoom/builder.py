"""The LRS-VQA-Zoom builder: zoom-chain training records (rs-data schema) from LRS-VQA-style rows.

Rows are read by rs-data's `lrs-vqa` reader (evidence from `rbox`, else `hbox`; image size from the file). For each
row whose evidence is a single box, one zoom round: the overview and the question with the zoom instruction; the tool
call naming the evidence's bounding box on the overview; the crop of that box (grown by the crop policy) cut from the
original image; the answer. Rows without a single evidence box (counting, comparisons) become plain question-answer
records on the overview. Each record is laid out by `rs_zoom.records.chain_record`, which also makes the chains of
visual-cot records in memory (`visual_cot_chain`), so those train without a build.

Output directory::

    records.jsonl             one `rs_data.Record` a line (image paths relative to this directory)
    images/overview/*.png     each source image at the size the resolution policy gives it (written once per image)
    images/crop/*.png         the full-resolution crops, one per zoom row
    manifest.json             the settings, counts, how `image_size` compared with the files, and every skipped row

The overview is stored at the size the resolution policy gives the original, so rendering with the same policy shows
it as is. The tool-call box is stored as an rs-data `<poly>` marker in the overview's pixels: rendering writes it in
the configured convention for whatever size the overview is shown at (render with `instruction_box_type="hbb"`, the
default, and the same convention as `BuildConfig.convention`, which words the tool's description).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rs_data import ImageRef, Record, Skipped, write_records
from rs_resolution import Convention, ImageFrame, ImageReadError, ResolutionPolicy, poly_to_hbb
from tqdm import tqdm

from rs_zoom.chain import TASK
from rs_zoom.crop import CropPolicy, RegionOutsideImageError, clamp_region, crop_window
from rs_zoom.lrs_vqa import (
    Question,
    SourceFormat,
    Variant,
    answer_pools,
    multiple_choice,
    read_questions,
    size_order,
)
from rs_zoom.records import chain_record, exact_window, too_thin
from rs_zoom.sources import ImageSource, open_source


class BuildConfig(BaseModel):
    """Settings of a build; saved in the manifest."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = "lrs_vqa_zoom"
    split: str | None = None
    source_format: SourceFormat = "lrs-vqa"
    variants: list[Variant] = Field(default_factory=lambda: ["open"], min_length=1)
    policy: ResolutionPolicy = Field(default_factory=ResolutionPolicy)
    convention: Convention = "absolute"
    crop: CropPolicy = Field(default_factory=CropPolicy)
    num_choices: int = Field(4, ge=3, le=10)
    seed: int = 0


class Manifest(BaseModel):
    """What a build produced and what it skipped."""

    source: str
    config: BuildConfig
    rows: int
    records: int
    zoom_records: int
    plain_records: int
    records_by_variant: dict[str, int]
    size_order: dict[str, int]
    evidence_clipped: int
    skipped_count: int
    skipped_by_reason: dict[str, int]
    skipped: list[dict[str, Any]]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "image"


def _image_name(path: Path, images_dir: Path) -> str:
    """The image's path under `images_dir` (its name in the rows, as far as the reader found it there)."""
    try:
        return Path(path).resolve().relative_to(images_dir.resolve()).as_posix()
    except ValueError:
        return Path(path).name


class _Builder:
    def __init__(self, src: Path, out_dir: Path, config: BuildConfig, pools: dict[str, list[str]]):
        self.src, self.out_dir, self.config, self.pools = src, out_dir, config, pools
        self.records: list[Record] = []
        self.skipped: list[Skipped] = []
        self.size_order: Counter[str] = Counter()
        self.evidence_clipped = 0
        self.zoom_records = 0
        self.skip_kinds: Counter[str] = Counter()
        for folder in ("overview", "crop"):
            (out_dir / "images" / folder).mkdir(parents=True, exist_ok=True)

    def skip(self, line: int | None, question: Question, kind: str, detail: str = "") -> None:
        reason = f"{question.question_id}: {kind}" + (f" ({detail})" if detail else "")
        self.skipped.append(Skipped(str(self.src), line, reason))
        self.skip_kinds[kind] += 1

    def image(self, path: Path, name: str, questions: Sequence[Question]) -> None:
        """All rows of one source image; the image is decoded at most once."""
        source = None
        try:
            source = open_source(path)
            width, height = source.size
            frame = self.config.policy.frame(width, height, task=TASK)
            overview = ImageRef(
                path=str(self.out_dir / "images" / "overview" / f"{_safe(Path(name).with_suffix('').as_posix())}.png"),
                width=frame.resized_width,
                height=frame.resized_height,
            )
            source.overview(frame.resized_height, frame.resized_width).save(overview.path)
        except ImageReadError as error:
            for question in questions:
                self.skip(question.line, question, "image unreadable", str(error))
            if source is not None:
                source.close()
            return
        with source:
            for question in questions:
                self.size_order[size_order(question.record.meta.get("image_size"), (width, height))] += 1
                try:
                    self.question(question, name, source, frame, overview)
                except ImageReadError as error:
                    self.skip(question.line, question, "image unreadable", str(error))

    def question(
        self, question: Question, name: str, source: ImageSource, frame: ImageFrame, overview: ImageRef
    ) -> None:
        meta: dict[str, Any] = {
            "question_id": question.question_id,
            "category": question.category,
            "source_image": name,
            "original_size": [frame.width, frame.height],
            "ground_truth": question.ground_truth,
        }
        zoom = None
        given = question.record.meta.get("crop_hbox")  # upstream's own crop boxes (visual-CoT), cut as they are
        evidence = question.record.annotation.evidence
        boxes = given if given is not None else [poly_to_hbb(np.asarray(e)).tolist() for e in evidence]
        if len(boxes) == 1:
            try:
                region, clipped = clamp_region(boxes[0], source.size)
            except RegionOutsideImageError as error:
                self.skip(question.line, question, "evidence box outside the image", str(error))
                return
            clipped = clipped or bool(question.record.meta.get("evidence_clipped"))
            self.evidence_clipped += clipped
            window = exact_window(region) if given is not None else crop_window(region, source.size, self.config.crop)
            if too_thin(window):  # only a given box can be: the crop policy widens its own
                self.skip(question.line, question, "crop too thin", f"{window.width}x{window.height}")
                return
            crop_path = str(self.out_dir / "images" / "crop" / f"{_safe(question.question_id)}.png")
            crop = ImageRef(path=crop_path, width=window.width, height=window.height)
            source.read_window(window).save(crop.path)
            to_overview = np.array([frame.resized_width / frame.width, frame.resized_height / frame.height] * 2)
            zoom = (crop, np.asarray(region) * to_overview)
            meta |= {
                "evidence_hbox": list(region),
                "evidence_clipped": clipped,
                "crop_window": list(window.corners),
            }
        variants = self.config.variants if given is None else [question.record.meta["variant"]]
        for variant in variants:
            self.variant(question, variant, overview, zoom, meta)

    def variant(
        self,
        question: Question,
        variant: Variant,
        overview: ImageRef,
        zoom: tuple[ImageRef, np.ndarray] | None,
        meta: dict[str, Any],
    ) -> None:
        text, answer, choices = question.text, question.ground_truth, question.record.annotation.choices
        made_here = variant == "mc" and choices is None
        if made_here:
            pool = self.pools.get(question.category, [])
            made = multiple_choice(question, pool, self.config.num_choices, self.config.seed)
            if isinstance(made, str):
                self.skip(question.line, question, "no multiple-choice form", made)
                return
            text, answer, choices = made
        record_id = f"{question.question_id}-mc" if made_here else question.question_id
        meta = meta | {"variant": variant, "choices": choices}
        config = self.config
        self.records.append(
            chain_record(record_id, config.dataset, config.split, overview, text, answer, zoom, config.convention, meta)
        )
        self.zoom_records += zoom is not None


def build_zoom_dataset(
    src: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    config: BuildConfig | None = None,
    progress: bool = False,
) -> Manifest:
    """Build an LRS-VQA-Zoom dataset from the rows in `src` and the images under `images_dir` into `out_dir`.

    Rows are read by rs-data's `lrs-vqa` reader, which finds images under `images_dir` by path, file name or stem.
    Rows are skipped (and listed in the manifest with file, line and reason) when invalid, duplicated, when their
    image is missing or unreadable, when their evidence box lies outside the image, or (multiple-choice variant only)
    when their category offers too few distractors. An evidence box that only overhangs the image is clipped and
    counted.
    """
    src, images_dir, out_dir = Path(src), Path(images_dir), Path(out_dir)
    config = config or BuildConfig()
    questions, skipped, rows = read_questions(src, images_dir, config.source_format)
    builder = _Builder(src, out_dir, config, answer_pools(questions))
    for skip, kind in skipped:
        builder.skipped.append(skip)
        builder.skip_kinds[kind] += 1
    groups: dict[Path, list[Question]] = {}
    seen: set[str] = set()
    for question in questions:
        if question.question_id in seen:
            builder.skip(question.line, question, "duplicate question_id")
            continue
        seen.add(question.question_id)
        groups.setdefault(question.image_path, []).append(question)
    for path, group in tqdm(groups.items(), desc="images", unit="image", disable=not progress):
        builder.image(path, _image_name(path, images_dir), group)
    write_records(out_dir / "records.jsonl", builder.records)
    manifest = Manifest(
        source=str(src),
        config=config,
        rows=rows,
        records=len(builder.records),
        zoom_records=builder.zoom_records,
        plain_records=len(builder.records) - builder.zoom_records,
        records_by_variant=dict(Counter(r.meta["variant"] for r in builder.records)),
        size_order=dict(builder.size_order),
        evidence_clipped=builder.evidence_clipped,
        skipped_count=len(builder.skipped),
        skipped_by_reason=dict(builder.skip_kinds),
        skipped=[{"file": s.file, "line": s.line, "reason": s.reason} for s in builder.skipped],
    )
    (out_dir / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
