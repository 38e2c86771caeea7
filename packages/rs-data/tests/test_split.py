"""Patch splitting on the real DOTA image P1888, checked line by line against what DOTA_devkit's ImgSplit and
mmrotate's img_split.py wrote for it (`data/split_references/`, see the provenance inside each file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data.readers import READERS
from rs_data.schema import ImageRef, Record
from rs_data.split import (
    SplitConfig,
    devkit_cut,
    mmrotate_cut,
    mmrotate_starts,
    mmrotate_windows,
    patch_name,
    split_record,
    window_starts,
)

REFERENCES = Path(__file__).parent / "data" / "split_references"


@pytest.fixture(scope="module")
def dota(data_dir: Path) -> Record:
    return READERS["dota"](data_dir / "dota").records[0]


def _reference_runs(style: str) -> list[tuple[str, str, dict]]:
    doc = json.loads((REFERENCES / f"{style}_P1888.json").read_text())
    return [(style, key, patches) for group in ("runs", "more_runs") for key, patches in doc[group].items()]


def _label_lines(record: Record, style: str) -> list[str]:
    """The labelTxt lines the tool writes: its number printing (float64 for the devkit, float32 for mmrotate)."""
    number = (lambda v: str(float(v))) if style == "devkit" else (lambda v: str(np.float32(v)))
    lines = []
    for index, obj in enumerate(record.annotation.objects):
        difficult = "2" if index in record.meta["truncated"] else str(int(obj.difficult))
        lines.append(" ".join(number(v) for v in obj.polygon) + f" {obj.label} {difficult}")
    return lines


@pytest.mark.parametrize(("style", "setting", "expected"), _reference_runs("devkit") + _reference_runs("mmrotate"))
def test_split_reproduces_the_reference_tool(style, setting, expected, dota: Record, tmp_path: Path) -> None:
    size, gap, rates = setting.split("/")
    config = SplitConfig(style=style, size=int(size), gap=int(gap), rates=[float(r) for r in rates.split(",")])
    records = split_record(config, tmp_path, dota).records
    assert [r.id for r in records] == list(expected)  # names, and the tool's window order
    for record in records:
        reference = expected[record.id]
        assert [record.images[0].height, record.images[0].width] == reference["size"], record.id
        assert _label_lines(record, style) == reference["lines"], record.id


def test_window_grids() -> None:
    # devkit: slide 200 from 0; the window that would pass the border is moved back to end there (712 - 256 = 456).
    assert window_starts(712, 256, 56) == [0, 200, 400, 456]
    assert window_starts(557, 256, 56) == [0, 200, 301]
    assert window_starts(100, 256, 56) == [0]
    # mmrotate: ceil((712 - 256) / 200 + 1) = 4 windows, the same snapping.
    assert mmrotate_starts(712, 256, 56) == [0, 200, 400, 456]
    assert mmrotate_starts(256, 256, 56) == [0]
    # rate 0.5 doubles mmrotate's window (512, gap 112, step 400): 712 -> [0, 200]; 557 -> [0, 45].
    config = SplitConfig(style="mmrotate", size=256, gap=56, rates=[0.5])
    assert mmrotate_windows(712, 557, config) == [(0, 0, 512), (0, 45, 512), (200, 0, 512), (200, 45, 512)]
    # One 1024 window on a 712 x 557 image is filled 38.7 % (< 0.6) but is the best there is, so it is kept.
    assert mmrotate_windows(712, 557, SplitConfig(style="mmrotate")) == [(0, 0, 1024)]
    assert patch_name("P0001", 1.0, 0, 824) == "P0001__1__0___824"
    assert patch_name("P0001", 0.5, 24, 0) == "P0001__0.5__24___0"
    assert patch_name("P0001", 1024, 87, 158) == "P0001__1024__87___158"


def test_devkit_cut_rules_by_hand() -> None:
    polygons = np.array(
        [
            [10, 10, 50, 10, 50, 30, 10, 30],  # inside the window (0, 0, 99, 99): shifted, kept whole
            [80, 40, 120, 40, 120, 60, 80, 60],  # x 80..99 of 80..120 inside: 47.5 % -> clipped, difficult 2
            # area 44 * 40 / 2 = 880; y = 99 cuts off the triangle (63.2, 99), (50, 110), (39, 99) of 24.2 * 11 / 2
            # = 133.1, leaving 84.9 % (kept flag) as the pentagon (50, 70), (74, 90), (63.2, 99), (39, 99), (30, 90),
            # whose shortest edge (39, 99)-(30, 90) (12.7 px) becomes its midpoint (34.5, 94.5); truncated to ints.
            [50, 70, 74, 90, 50, 110, 30, 90],
            [99, 89, 109, 99, 99, 109, 89, 99],  # its part inside is a triangle: fewer than 4 corners, dropped
        ],
        dtype=np.float64,
    )
    cut = devkit_cut(polygons, 0, 0, 99, 99, 100, 0.7)
    assert cut.indices == [0, 1, 2] and cut.truncated == [False, True, False] and cut.dropped == 1
    assert cut.polygons == [
        [10, 10, 50, 10, 50, 30, 10, 30],
        [80, 40, 99, 40, 99, 60, 80, 60],
        [50, 70, 74, 90, 63, 99, 34, 94],
    ]


def test_mmrotate_cut_rules_by_hand() -> None:
    polygons = np.array(
        [[80, 40, 120, 40, 120, 60, 80, 60], [70, 40, 110, 40, 110, 60, 70, 60], [10, 10, 50, 10, 50, 30, 10, 30]],
        dtype=np.float32,
    )
    # window x 10..110, y 0..100: iof 30/40 = 0.75 (kept, not clipped, difficult 2), 40/40 = 1, 1 (kept whole).
    cut = mmrotate_cut(polygons, 10, 0, 100, 0.7)
    assert cut.indices == [0, 1, 2] and cut.truncated == [True, False, False] and cut.dropped == 0
    assert cut.polygons[0] == [70, 40, 110, 40, 110, 60, 70, 60]
    # window x 0..100: the first object is 20/40 = 0.5 inside, below 0.7: left out and counted.
    cut = mmrotate_cut(polygons, 0, 0, 100, 0.7)
    assert cut.indices == [1, 2] and cut.truncated == [True, False] and cut.dropped == 1


def test_truncated_object_keeps_its_flag_above_the_threshold(tmp_path: Path, dota: Record) -> None:
    record = dota.model_copy(deep=True)
    big = [220.0, 20.0, 380.0, 20.0, 380.0, 180.0, 220.0, 180.0]
    record.annotation.objects = [record.annotation.objects[0].model_copy(update={"polygon": big, "label": "harbor"})]
    patches = {p.id: p for p in split_record(SplitConfig(size=256, gap=56, keep_empty=0.0), tmp_path, record).records}
    assert set(patches) == {"P1888__1__0___0", "P1888__1__200___0"}
    whole, cut = patches["P1888__1__200___0"], patches["P1888__1__0___0"]
    assert whole.annotation.objects[0].polygon == [20, 20, 180, 20, 180, 180, 20, 180]
    assert whole.meta["truncated"] == [] and not whole.annotation.objects[0].difficult
    # x 220..256 of 220..380 lies inside the window 0..256: 22.5 %, at most 0.7 -> difficult 2; clamped to 256.
    assert cut.annotation.objects[0].polygon == [220, 20, 256, 20, 256, 180, 220, 180]
    assert cut.meta["truncated"] == [0] and cut.annotation.objects[0].difficult


@pytest.mark.parametrize(("style", "colour"), [("devkit", (0, 0, 0)), ("mmrotate", (124, 116, 104))])
def test_patch_pixels_are_the_crop_padded(style, colour, dota: Record, tmp_path: Path) -> None:
    source = np.asarray(Image.open(dota.images[0].path).convert("RGB"))
    for record in split_record(SplitConfig(style=style, size=512, gap=100), tmp_path, dota).records:
        left, up = record.meta["left"], record.meta["up"]
        pixels = np.asarray(Image.open(record.images[0].path))
        crop = source[up : up + 512, left : left + 512]
        np.testing.assert_array_equal(pixels[: crop.shape[0], : crop.shape[1]], crop)
        assert (pixels[crop.shape[0] :] == colour).all() and (pixels[:, crop.shape[1] :] == colour).all()


def test_empty_patch_policy_is_seeded(tmp_path: Path, dota: Record) -> None:
    record = dota.model_copy(deep=True)
    record.annotation.objects = []
    kept = [r.id for r in split_record(SplitConfig(size=128, gap=28, keep_empty=0.5), tmp_path, record).records]
    again = [r.id for r in split_record(SplitConfig(size=128, gap=28, keep_empty=0.5), tmp_path, record).records]
    assert kept == again and 0 < len(kept) < 6 * 5


def test_gap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="gap"):
        SplitConfig(size=100, gap=100)


def test_a_windowed_record_is_split_from_its_window_of_the_file(dota: Record, tmp_path: Path) -> None:
    x0, y0 = 100, 60
    shift = np.tile([x0, y0], 4)
    objects = [
        o.model_copy(update={"polygon": (np.array(o.polygon) - shift).tolist()}) for o in dota.annotation.objects
    ]
    image = ImageRef(path=dota.images[0].path, width=500, height=400, window=(x0, y0, x0 + 500, y0 + 400))
    annotation = dota.annotation.model_copy(update={"objects": objects})
    windowed = dota.model_copy(update={"images": [image], "annotation": annotation})
    source = np.asarray(Image.open(dota.images[0].path).convert("RGB"))
    patches = split_record(SplitConfig(style="devkit", size=256, gap=56), tmp_path, windowed).records
    assert patches
    for record in patches:
        left, up = record.meta["left"], record.meta["up"]
        crop = source[y0 + up : y0 + min(up + 256, 400), x0 + left : x0 + min(left + 256, 500)]
        np.testing.assert_array_equal(
            np.asarray(Image.open(record.images[0].path))[: crop.shape[0], : crop.shape[1]], crop
        )
