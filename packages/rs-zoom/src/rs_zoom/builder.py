"""The LRS-VQA-Zoom builder: zoom-chain training records (rs-data schema) from LRS-VQA-style rows.

For each row whose evidence is a single box (`hbox`), one zoom round: the overview and the question with the zoom
instruction; the tool call naming the evidence box on the overview; the crop of the box (grown by the crop policy) cut
from the original image; the answer. Rows without a single evidence box (counting, comparisons)
become plain question-answer records on the overview.

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
from rs_data import ImagePart, ImageRef, Message, Record, Skipped, TextPart, write_records
from rs_data.schema import poly_tag
from rs_resolution import Convention, ImageFrame, ImageReadError, ResolutionPolicy, hbb_to_poly
from tqdm import tqdm

from rs_zoom.chain import TASK
from rs_zoom.crop import CropPolicy, RegionOutsideImageError, clamp_region, crop_window
from rs_zoom.lrs_vqa import LRSVQARow, Variant, answer_pools, multiple_choice, read_rows, size_order
from rs_zoom.protocol import ZOOMED_PROMPT, tool_call_text, tool_system_prompt, zoom_question
from rs_zoom.sources import ImageSource, open_source


class BuildConfig(BaseModel):
    """Settings of a build; saved in the manifest."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = "lrs_vqa_zoom"
    split: str | None = None
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


def _resolve_image(images_dir: Path, name: str) -> Path | None:
    for candidate in (images_dir / name, images_dir / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


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

    def skip(self, line: int, row: LRSVQARow, kind: str, detail: str = "") -> None:
        reason = f"{row.question_id}: {kind}" + (f" ({detail})" if detail else "")
        self.skipped.append(Skipped(str(self.src), line, reason))
        self.skip_kinds[kind] += 1

    def image(self, path: Path, name: str, rows: Sequence[tuple[int, LRSVQARow]]) -> None:
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
            for line, row in rows:
                self.skip(line, row, "image unreadable", str(error))
            if source is not None:
                source.close()
            return
        with source:
            for line, row in rows:
                self.size_order[size_order(row.image_size, (width, height))] += 1
                try:
                    self.row(line, row, source, frame, overview)
                except ImageReadError as error:
                    self.skip(line, row, "image unreadable", str(error))

    def row(self, line: int, row: LRSVQARow, source: ImageSource, frame: ImageFrame, overview: ImageRef) -> None:
        meta: dict[str, Any] = {
            "question_id": row.question_id,
            "category": row.category,
            "source_image": row.image,
            "original_size": [frame.width, frame.height],
            "ground_truth": row.ground_truth,
        }
        zoom = None
        if row.hbox is not None:
            try:
                region, clipped = clamp_region(row.hbox, source.size)
            except RegionOutsideImageError as error:
                self.skip(line, row, "evidence box outside the image", str(error))
                return
            self.evidence_clipped += clipped
            window = crop_window(region, source.size, self.config.crop)
            crop_path = self.out_dir / "images" / "crop" / f"{_safe(row.question_id)}.png"
            crop = ImageRef(path=str(crop_path), width=window.width, height=window.height)
            source.read_window(window).save(crop_path)
            to_overview = np.array([frame.resized_width / frame.width, frame.resized_height / frame.height] * 2)
            on_overview = hbb_to_poly(np.asarray(region) * to_overview).tolist()
            zoom = (crop, tool_call_text(poly_tag(on_overview)))
            meta |= {
                "evidence_hbox": list(region),
                "evidence_clipped": clipped,
                "crop_window": [window.x0, window.y0, window.x1, window.y1],
            }
        for variant in self.config.variants:
            self.variant(line, row, variant, overview, zoom, meta)

    def variant(
        self,
        line: int,
        row: LRSVQARow,
        variant: Variant,
        overview: ImageRef,
        zoom: tuple[ImageRef, str] | None,
        meta: dict[str, Any],
    ) -> None:
        question, answer, choices = row.text, row.ground_truth, None
        if variant == "mc":
            made = multiple_choice(row, self.pools.get(row.category, []), self.config.num_choices, self.config.seed)
            if isinstance(made, str):
                self.skip(line, row, "no multiple-choice form", made)
                return
            question, answer, choices = made
        if zoom is None:
            images = [overview]
            messages = [_message("user", 0, question), _message("assistant", None, answer)]
        else:
            crop, tool_call = zoom
            images = [overview, crop]
            messages = [
                _message("system", None, tool_system_prompt(self.config.convention)),
                _message("user", 0, zoom_question(question)),
                _message("assistant", None, tool_call),
                _message("user", 1, ZOOMED_PROMPT),
                _message("assistant", None, answer),
            ]
            self.zoom_records += 1
        self.records.append(
            Record(
                id=row.question_id if variant == "open" else f"{row.question_id}-mc",
                dataset=self.config.dataset,
                task=TASK,
                images=images,
                messages=messages,
                split=self.config.split,
                meta=meta | {"variant": variant, "choices": choices},
            )
        )


def _message(role: str, image: int | None, text: str) -> Message:
    parts: list[ImagePart | TextPart] = [] if image is None else [ImagePart(image=image)]
    return Message(role=role, content=[*parts, TextPart(text=text)])


def build_zoom_dataset(
    src: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    config: BuildConfig | None = None,
    progress: bool = False,
) -> Manifest:
    """Build an LRS-VQA-Zoom dataset from the rows in `src` and the images under `images_dir` into `out_dir`.

    Images are looked up as `images_dir / row.image`, then `images_dir / basename(row.image)`. Rows are skipped (and
    listed in the manifest with file, line and reason) when invalid, duplicated, when their image is missing or
    unreadable, when their evidence box lies outside the image, or (multiple-choice variant only) when their category
    offers too few distractors. An evidence box that only overhangs the image is clipped and counted.
    """
    src, images_dir, out_dir = Path(src), Path(images_dir), Path(out_dir)
    config = config or BuildConfig()
    rows, skipped = read_rows(src)
    builder = _Builder(src, out_dir, config, answer_pools([row for _, row in rows]))
    builder.skipped += skipped
    if skipped:
        builder.skip_kinds["invalid row"] += len(skipped)
    groups: dict[str, list[tuple[int, LRSVQARow]]] = {}
    seen: set[str] = set()
    for line, row in rows:
        if row.question_id in seen:
            builder.skip(line, row, "duplicate question_id")
            continue
        seen.add(row.question_id)
        groups.setdefault(row.image, []).append((line, row))
    for name, group in tqdm(groups.items(), desc="images", unit="image", disable=not progress):
        path = _resolve_image(images_dir, name)
        if path is None:
            for line, row in group:
                builder.skip(line, row, "image not found", f"{name} under {images_dir}")
            continue
        builder.image(path, name, group)
    write_records(out_dir / "records.jsonl", builder.records)
    manifest = Manifest(
        source=str(src),
        config=config,
        rows=len(rows) + len(skipped),
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
