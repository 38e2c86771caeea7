"""DOTA-style patch splitting on the real DOTA sample: windows, names, clipping, truncation and empty patches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data.readers import READERS
from rs_data.schema import Record
from rs_data.split import SplitConfig, patch_name, split_record, window_starts


@pytest.fixture(scope="module")
def dota(data_dir: Path) -> Record:
    return READERS["dota"](data_dir / "dota").records[0]


def test_window_starts_follow_imgsplit() -> None:
    # slide 200: 0, 200, 400, then the last window is moved back to end at the border (712 - 256).
    assert window_starts(712, 256, 56) == [0, 200, 400, 456]
    assert window_starts(557, 256, 56) == [0, 200, 301]
    assert window_starts(100, 256, 56) == [0]
    assert window_starts(1024, 1024, 200) == [0]
    assert patch_name("P0001", 1.0, 0, 824) == "P0001__1__0___824"
    assert patch_name("P0001", 0.5, 24, 0) == "P0001__0.5__24___0"


def test_split_real_image(dota: Record, tmp_path: Path) -> None:
    config = SplitConfig(size=256, gap=56, rates=[1.0, 0.5])
    result = split_record(config, tmp_path, dota)
    names = [r.id for r in result.records]
    assert len(names) == 4 * 3 + 2 * 2 and "P1888__1__456___301" in names and "P1888__0.5__100___22" in names
    for record in result.records:
        assert Image.open(record.images[0].path).size == (256, 256)
        assert (record.images[0].width, record.images[0].height) == (256, 256)
    originals = np.array([o.polygon for o in dota.annotation.objects])
    whole_somewhere = set()
    for record in result.records:
        meta = record.meta
        for i, obj in enumerate(record.annotation.objects):
            offset = np.array([meta["left"], meta["up"]])
            back = (np.array(obj.polygon).reshape(4, 2) + offset) / meta["rate"]
            if i in meta["truncated"]:
                assert obj.difficult
                continue
            distance = np.abs(originals.reshape(-1, 4, 2)[:, None] - back[None]).max(axis=(2, 3)).min(axis=1)
            if meta["rate"] == 1.0 and distance.min() < 1e-6:
                whole_somewhere.add(int(np.argmin(distance)))
            assert np.all(np.array(obj.polygon) >= 0) and np.all(np.array(obj.polygon) <= 256)
    # Objects are small next to the 56 px overlap, so each appears unclipped in some full-scale patch.
    assert whole_somewhere == set(range(len(originals)))


def test_truncated_objects_are_kept_and_marked(tmp_path: Path, dota: Record) -> None:
    record = dota.model_copy(deep=True)
    big = [220.0, 20.0, 380.0, 20.0, 380.0, 180.0, 220.0, 180.0]
    record.annotation.objects = [record.annotation.objects[0].model_copy(update={"polygon": big, "label": "harbor"})]
    result = split_record(SplitConfig(size=256, gap=56, keep_empty=0.0), tmp_path, record)
    fractions = {}
    for patch in result.records:
        (obj,) = patch.annotation.objects
        fractions[patch.id] = (obj.difficult, patch.meta["truncated"])
    assert fractions["P1888__1__200___0"] == (False, [])  # the box lies inside x 200..456
    assert fractions["P1888__1__0___0"] == (True, [0])  # only x 220..255 of it: 22 % of its area
    assert all(patch.annotation.objects for patch in result.records)


def test_empty_patch_policy_is_seeded(tmp_path: Path, dota: Record) -> None:
    record = dota.model_copy(deep=True)
    record.annotation.objects = []
    kept = [r.id for r in split_record(SplitConfig(size=128, gap=28, keep_empty=0.5), tmp_path, record).records]
    again = [r.id for r in split_record(SplitConfig(size=128, gap=28, keep_empty=0.5), tmp_path, record).records]
    assert kept == again and 0 < len(kept) < 6 * 5


def test_gap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="gap"):
        SplitConfig(size=100, gap=100)
