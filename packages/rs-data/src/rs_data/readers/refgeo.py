"""refGeo (GeoGround's referring data: AVVG, RSVG, DIOR-RSVG, GeoChat, VRSBench) as upstream RSCoVLM publishes it.

A metainfo JSONL line is `{"dataset", "image_id", "question_id", "question", "bbox": [x1, y1, x2, y2], "poly":
[[x, y] x 4], "image_width", "image_height"}` in original pixels; the image is `ROOT/images/{dataset}/{image_id}` and
the object's mask (when there is one) `ROOT/masks/{dataset}/{image stem}_{question_id}.png`, where ROOT is the folder
above the metainfo file unless `images` says otherwise. A line may instead carry its mask as `segmentation`: COCO
polygons (`[[x1, y1, ...], ...]`) or a COCO RLE (`{"size": [h, w], "counts": ...}`, compressed or not), decoded here.

Each line gives one record per target type, as upstream's dataset variants do: `targets="all"` (hbb, obb, poly and,
where a mask exists, seg), `hbb_only`, `poly_only`, `seg_only`, `wo_seg`, or a comma-separated list of types. The
hbb target is the line's `bbox`, obb and poly its `poly`; seg the mask's outer contours (holes filled) after a
closing with a `close_kernel`-pixel square (upstream's 50), which rendering writes as the text mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rs_resolution import ImageReadError, hbb_to_poly, load_image

from rs_data.masks import decode_rle, outer_contours
from rs_data.readers._common import Reader, ReadResult, clean_polygon, image_ref
from rs_data.readers.entries import BadEntry, Entry, annotated_size, read_entries
from rs_data.schema import GroundingAnnotation, GroundingTarget, ImageRef, Record

TARGETS: tuple[GroundingTarget, ...] = ("hbb", "obb", "poly", "seg")
VARIANTS: dict[str, tuple[GroundingTarget, ...]] = {
    "all": TARGETS,
    "hbb_only": ("hbb",),
    "poly_only": ("poly",),
    "seg_only": ("seg",),
    "wo_seg": ("hbb", "obb", "poly"),
}


@dataclass(frozen=True)
class RefGeoContext:
    dataset: str
    source: str
    root: Path
    targets: tuple[GroundingTarget, ...]
    close_kernel: int
    check_images: bool
    split: str | None


def _targets(value: str) -> tuple[GroundingTarget, ...]:
    if value in VARIANTS:
        return VARIANTS[value]
    targets = tuple(t.strip() for t in value.split(",") if t.strip())
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise ValueError(f"refgeo: targets {value!r}: use one of {sorted(VARIANTS)} or a list of {TARGETS}")
    return targets  # type: ignore[return-value]


def prepare(
    src: Path,
    images: str | Path | None = None,
    targets: str = "all",
    close_kernel: int = 50,
    check_images: bool = True,
    dataset: str = "refgeo",
    split: str | None = None,
) -> tuple[RefGeoContext, list[Entry]]:
    """`src` is a metainfo JSONL; `images` the refGeo root holding `images/` and `masks/` (default: `src`'s grandparent
    folder, as in `refGeo/metainfo_v2/x.jsonl`)."""
    root = Path(images) if images else src.parent.parent
    context = RefGeoContext(dataset, str(src), root, _targets(targets), close_kernel, check_images, split)
    return context, read_entries(src)


def _numbers(value: Any, count: int, field: str) -> list[float]:
    try:
        flat = np.asarray(value, dtype=np.float64).reshape(-1) if isinstance(value, list) else np.empty(0)
    except (TypeError, ValueError):  # not numbers, or ragged lists
        flat = np.empty(0)
    if flat.size != count or not np.isfinite(flat).all():
        raise BadEntry(f"'{field}' needs {count} finite numbers")
    return flat.tolist()


def _mask(context: RefGeoContext, row: dict[str, Any], image: ImageRef) -> np.ndarray | list[list[float]] | None:
    """The row's mask: decoded from `segmentation`, read from the mask file, or None when it has none."""
    segmentation = row.get("segmentation")
    if isinstance(segmentation, dict):
        mask = decode_rle(segmentation)
    elif isinstance(segmentation, list):
        if not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in segmentation):
            raise BadEntry("COCO polygons are lists of at least 3 x, y pairs")
        return [_numbers(p, len(p), "segmentation") for p in segmentation]
    else:
        name = f"{Path(row['image_id']).stem}_{row['question_id']}.png"
        path = context.root / "masks" / str(row["dataset"]) / name
        if row.get("mask_exists") is False or not path.is_file():
            return None
        try:
            mask = np.asarray(load_image(path).convert("L"))
        except ImageReadError as error:
            raise BadEntry(f"unreadable mask {path}: {error}") from error
    if mask.shape != (image.height, image.width):
        raise BadEntry(f"mask is {mask.shape[1]}x{mask.shape[0]}, image {image.width}x{image.height}")
    return mask


def _contours(
    context: RefGeoContext, entry: Entry, row: dict[str, Any], image: ImageRef, result: ReadResult
) -> list[list[float]] | None:
    """The outer contours of the row's mask, or None (the seg record's skip counted with its reason)."""
    try:
        mask = _mask(context, row, image)
        if mask is None:
            raise BadEntry("no mask")
        contours = mask if isinstance(mask, list) else outer_contours(mask, context.close_kernel)
        if not contours:
            raise BadEntry("the mask is empty")
    except (BadEntry, TypeError, ValueError) as error:
        result.skipped.append(entry.skip(context.source, f"seg target: {error}"))
        return None
    return contours


def read_unit(context: RefGeoContext, entry: Entry) -> ReadResult:
    result, source, row = ReadResult(), context.source, entry.value
    if entry.error is not None or not isinstance(row, dict):
        result.skipped.append(entry.skip(source, entry.error or "not a JSON object"))
        return result
    try:
        missing = [k for k in ("dataset", "image_id", "question_id", "question") if k not in row]
        if missing:
            raise BadEntry(f"missing field(s) {missing}")
        hbb = hbb_to_poly(np.asarray(_numbers(row.get("bbox"), 4, "bbox"))).tolist()
        poly = _numbers(row.get("poly"), 8, "poly") if {"obb", "poly"} & set(context.targets) else None
        size = annotated_size(row, "image_width", "image_height")
    except (BadEntry, TypeError, ValueError) as error:
        result.skipped.append(entry.skip(source, str(error)))
        return result
    name = f"{row['dataset']}/{row['image_id']}"
    path = context.root / "images" / name
    image = image_ref(path, source, entry.line, result.skipped, size, context.check_images, name, expected=str(path))
    if image is None:
        return result
    what = f"question {row['question_id']}"
    polygons = {"hbb": clean_polygon(hbb, image, source, entry.line, what, result.skipped)}
    if poly is not None:
        polygons["obb"] = polygons["poly"] = clean_polygon(poly, image, source, entry.line, what, result.skipped)
    contours = _contours(context, entry, row, image, result) if "seg" in context.targets else None
    for target in context.targets:
        polygon = polygons["hbb"] if target == "seg" else polygons[target]
        if polygon is None or (target == "seg" and contours is None):
            continue
        annotation = GroundingAnnotation(
            expression=str(row["question"]), polygon=polygon, target=target, mask=contours if target == "seg" else None
        )
        result.records.append(
            Record(
                id=f"{row['dataset']}-{row['question_id']}-{target}",
                dataset=context.dataset,
                task="grounding",
                images=[image],
                annotation=annotation,
                split=context.split,
                meta={"source": str(row["dataset"]), "question_id": row["question_id"]},
            )
        )
    return result


READER = Reader(
    "refgeo",
    "refGeo metainfo JSONL (GeoGround): HBB, OBB/polygon and segmentation targets, one record per target type",
    prepare,
    read_unit,
)
