"""refGeo metainfo (real DIOR-RSVG object in upstream's structure): one record per target type, masks from PNG files,
COCO RLE and COCO polygons, and the text mask rendering writes for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from rs_data.masks import decode_rle, mask_text, outer_contours, rasterize, row_runs
from rs_data.readers import READERS
from rs_data.render import RenderConfig, render
from rs_resolution import ImageFrame, ResolutionPolicy

GOLF_FIELD = [133.0, 237.0, 684.0, 237.0, 684.0, 672.0, 133.0, 672.0]


@pytest.fixture(scope="module")
def refgeo(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The refGeo tree (metainfo_v2/, masks/, images/dior_rsvg/00001.jpg) with the real DIOR image copied in."""
    root = tmp_path_factory.mktemp("refgeo") / "refGeo"
    shutil.copytree(data_dir / "refgeo", root)
    (root / "images" / "dior_rsvg").mkdir(parents=True)
    shutil.copy(data_dir / "dior_r" / "00001.jpg", root / "images" / "dior_rsvg" / "00001.jpg")
    return root / "metainfo_v2" / "dior_rsvg_train_v2.jsonl"


def test_one_record_per_target_type_and_bad_lines_counted(refgeo: Path) -> None:
    result = READERS["refgeo"](refgeo)
    ids = [r.id for r in result.records]
    assert ids[:4] == ["dior_rsvg-0-hbb", "dior_rsvg-0-obb", "dior_rsvg-0-poly", "dior_rsvg-0-seg"]
    assert len(ids) == 12  # three good lines x four targets
    first = result.records[0]
    assert (first.task, first.annotation.expression, first.annotation.polygon) == (
        "grounding",
        "A green and brown golf field",
        GOLF_FIELD,
    )
    assert [(Path(s.file).name, s.line) for s in result.skipped] == [
        ("dior_rsvg_train_v2.jsonl", 4),
        ("dior_rsvg_train_v2.jsonl", 5),
        ("dior_rsvg_train_v2.jsonl", 6),
    ]
    assert "'bbox' needs 4" in result.skipped[0].reason and "invalid JSON" in result.skipped[1].reason
    assert "image not found" in result.skipped[2].reason


@pytest.mark.parametrize(
    ("targets", "expected"),
    [("hbb_only", ["hbb"]), ("poly_only", ["poly"]), ("seg_only", ["seg"]), ("wo_seg", ["hbb", "obb", "poly"])],
)
def test_upstream_variants(refgeo: Path, targets: str, expected: list[str]) -> None:
    records = READERS["refgeo"](refgeo, targets=targets).records
    assert sorted({r.annotation.target for r in records}) == sorted(expected)
    assert len(records) == 3 * len(expected)


def test_unknown_variant_is_refused(refgeo: Path) -> None:
    with pytest.raises(ValueError, match="targets 'obb_poly'"):
        READERS["refgeo"](refgeo, targets="obb_poly")


def test_masks_from_png_rle_and_polygons(refgeo: Path) -> None:
    seg = {r.id: r.annotation.mask for r in READERS["refgeo"](refgeo, targets="seg_only").records}
    # PNG (0/255): the field 133..684 x 237..672 with a hole (filled) and a blob 705..759 x 237..299, 20 px away,
    # which the closing joins: one outer contour, corners walked counter-clockwise from the top-left.
    assert seg["dior_rsvg-0-seg"] == [[133, 237, 133, 672, 684, 672, 684, 300, 685, 299, 759, 299, 759, 237]]
    # COCO RLE of the square 200..399 x 300..499 (encoded with pycocotools, see PROVENANCE.md).
    assert seg["dior_rsvg-1-seg"] == [[200, 300, 200, 499, 399, 499, 399, 300]]
    # COCO polygons are taken as given.
    assert seg["dior_rsvg-2-seg"] == [[10, 10, 110, 10, 10, 110]]


def test_a_mask_of_the_wrong_size_is_a_counted_skip(refgeo: Path, tmp_path: Path) -> None:
    root = tmp_path / "refGeo"
    shutil.copytree(refgeo.parent.parent, root)
    line = refgeo.read_text().splitlines()[0].replace('"image_width": 800', '"image_width": 800, "mask_exists": true')
    (root / "metainfo_v2" / "one.jsonl").write_text("\ufeff" + line + "\n")  # with a byte-order mark
    (root / "masks" / "dior_rsvg" / "00001_0.png").write_bytes(b"not a png")
    result = READERS["refgeo"](root / "metainfo_v2" / "one.jsonl")
    assert [r.annotation.target for r in result.records] == ["hbb", "obb", "poly"]
    (skip,) = result.skipped
    assert skip.line == 1 and skip.reason.startswith("seg target: unreadable mask")


def test_rle_decoding_matches_pycocotools_both_forms() -> None:
    mask = np.zeros((5, 4), np.uint8)
    mask[1:3, 1:4] = 1
    compressed = coco_mask.encode(np.asfortranarray(mask))
    assert np.array_equal(decode_rle({"size": [5, 4], "counts": compressed["counts"].decode()}), mask)
    # Column-major runs of the same mask: column 0 all zero (5), then per column 1..3: 1 zero, 2 ones, 2 zeros.
    counts = [6, 2, 3, 2, 3, 2, 2]
    assert np.array_equal(decode_rle({"size": [5, 4], "counts": counts}), mask)
    with pytest.raises(ValueError, match="sum to"):
        decode_rle({"size": [5, 4], "counts": [1, 2]})


def test_text_mask_by_hand() -> None:
    # The square 200..399 x 300..499 of an 800 x 800 image shown at 400 x 400: nearest neighbour takes source pixel
    # 2i + 1, so columns 100..199 and rows 150..249 are set; in 50-pixel cells that is columns 2-3 and rows 3-4.
    contours = outer_contours(rasterize([[200, 300, 399, 300, 399, 499, 200, 499]], 800, 800))
    frame = ImageFrame(width=800, height=800, resized_width=400, resized_height=400)
    text = mask_text(contours, frame, 50)
    assert text == "0*8;" * 3 + "0*2,1*2,0*4;" * 2 + "0*8;" * 3
    assert row_runs(np.array([[0, 1, 1], [0, 0, 0]])) == "0*1,1*2;0*3;"


def test_seg_and_fixed_box_targets_render(refgeo: Path) -> None:
    records = {r.id: r for r in READERS["refgeo"](refgeo).records}
    policy, config = ResolutionPolicy(), RenderConfig(convention="absolute")
    seg = render(records["dior_rsvg-1-seg"], policy, config, np.random.default_rng(0))
    system, user, assistant = seg.messages
    assert system["content"][0]["text"] == config.templates.system_segmentation
    assert user["content"][1]["text"] == "Locate the the square in the middle, output the segmentation mask"
    answer = assistant["content"][0]["text"]
    rows = answer.removeprefix("<seg>").removesuffix("</seg>").split(";")[:-1]
    # 800 px -> 812 px (29 cells of 28 px); every row has 29 cells
    assert len(rows) == 29
    assert all(sum(int(run.split("*")[1]) for run in row.split(",")) == 29 for row in rows)
    for seed in range(4):
        obb = render(records["dior_rsvg-0-obb"], policy, config, np.random.default_rng(seed))
        assert obb.box_type == "obb"
