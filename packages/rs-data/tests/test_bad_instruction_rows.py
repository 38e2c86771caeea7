"""Malformed entries of the refGeo, TEOChatlas and visual-CoT readers are counted skips with a reason, never a
traceback (values a JSON parser accepts: Infinity, NaN, objects where numbers belong, scalars where lists belong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from rs_data.readers import READERS

REFGEO = {
    "dataset": "d",
    "image_id": "a.png",
    "question_id": 1,
    "question": "q",
    "bbox": [1, 1, 5, 5],
    "poly": [1, 1, 5, 1, 5, 5, 1, 5],
}
TEO = {"video": ["a.png"], "conversations": [{"from": "human", "value": "<video>\nq"}, {"from": "gpt", "value": "a"}]}
COT = {"image": "a.png", "question": "q", "answer": "a", "bbox_info": {"crop_hbox": [[1, 1, 5, 5]]}}


@pytest.mark.parametrize(
    ("reader", "row", "reason"),
    [
        ("refgeo", {**REFGEO, "image_width": float("inf"), "image_height": 8}, "must be positive integers"),
        ("refgeo", {**REFGEO, "bbox": [1, {"x": 1}, 5, 5]}, "'bbox' needs 4 finite numbers"),
        ("refgeo", {**REFGEO, "bbox": [1, 1, 5, float("nan")]}, "'bbox' needs 4 finite numbers"),
        ("refgeo", {**REFGEO, "segmentation": [[1, 1, {}, 1, 5, 5]]}, "seg target: 'segmentation' needs 6 finite"),
        ("refgeo", {**REFGEO, "segmentation": {"size": [8, 8], "counts": [10, 3]}}, "seg target: RLE counts sum to"),
        ("teochatlas", {**TEO, "timestamps": 5}, "'timestamps' must be a list"),
        ("teochatlas", {**TEO, "timestamps": ["2020-13-01"]}, "is not YYYY-MM-DD"),
        ("teochatlas", {**TEO, "video": 3}, "'video' must be a path or a list of paths"),
        ("teochatlas", {**TEO, "conversations": [{"from": ["human"], "value": "q"}]}, "bad turn"),
        ("visual-cot", {**COT, "image_ori_width": True, "image_ori_height": 8}, "must be positive integers"),
        ("visual-cot", {**COT, "bbox_info": {"crop_hbox": [[1, 1, 5]]}}, "is not x1, y1, x2, y2"),
        ("visual-cot", {"image": "a.png", "Text": "q", "Answer choices": "A", "Ground truth": "A"}, "choices"),
    ],
)
def test_bad_entry_is_a_counted_skip(tmp_path: Path, reader: str, row: dict, reason: str) -> None:
    (tmp_path / "images" / "d").mkdir(parents=True)
    for path in (tmp_path / "a.png", tmp_path / "images" / "d" / "a.png"):
        Image.new("RGB", (8, 8)).save(path)
    folder = tmp_path / "metainfo"
    folder.mkdir()
    src = folder / "rows.jsonl"
    src.write_text(json.dumps(row) + "\n")
    result = READERS[reader](src, images=tmp_path)
    (skip,) = result.skipped
    assert skip.line == 1 and reason in skip.reason, skip.reason
