"""The coordinates in training targets, pinned to Qwen's published behaviour with numbers worked out by hand.

Qwen2.5-VL grounds in absolute pixels of the image as its processor resizes it (qwen-vl-utils `smart_resize`);
Qwen3-VL in 0-1000 of the image. The expected texts below are computed in the comments, not by the code under test:
the target is read from the training app's own data path (`build_sampling`), whatever renderer and policy it uses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rs_data import GroundingAnnotation, ImageRef, Record, write_records
from rscovlm_train.config import parse_config
from rscovlm_train.data import build_sampling

# (width, height, box x1, y1, x2, y2 in original pixels, Qwen2.5-VL target, Qwen3-VL target)
# Budget: min_pixels 3136 (4·28²), max_pixels 50176 (64·28²), factor 28 (Qwen2.5-VL) / 32 (Qwen3-VL).
CASES = [
    # 224×112: round(112/28)·28 = 112, round(224/28)·28 = 224; 112·224 = 25088 ≤ 50176: not resized, scale 1.
    (224, 112, (10, 20, 110, 60), "10,20,110,60", "45,179,491,536"),
    # 300×200: 196·308 = 60368 > 50176, so β = √(60000/50176) = 1.09352;
    #   h = ⌊200/1.09352/28⌋·28 = ⌊6.53⌋·28 = 168, w = ⌊300/1.09352/28⌋·28 = ⌊9.80⌋·28 = 252; scale 0.84 both ways:
    #   30·0.84 = 25.2 → 25, 40·0.84 = 33.6 → 34, 150·0.84 = 126, 120·0.84 = 100.8 → 101.
    #   Qwen3-VL: 30/300·1000 = 100, 40/200·1000 = 200, 150/300·1000 = 500, 120/200·1000 = 600.
    (300, 200, (30, 40, 150, 120), "25,34,126,101", "100,200,500,600"),
    # 1000×800: 812·1008 > 50176, β = √(800000/50176) = 3.99298;
    #   h = ⌊800/3.99298/28⌋·28 = ⌊7.16⌋·28 = 196, w = ⌊1000/3.99298/28⌋·28 = ⌊8.94⌋·28 = 224;
    #   x·224/1000: 100 → 22.4 → 22, 500 → 112; y·196/800: 200 → 49, 600 → 147.
    #   Qwen3-VL: 100/1000·1000 = 100, 200/800·1000 = 250, 500 → 500, 600/800·1000 = 750.
    (1000, 800, (100, 200, 500, 600), "22,49,112,147", "100,250,500,750"),
]
# Qwen3-VL for 224×112: 10/224·1000 = 44.64 → 45, 20/112·1000 = 178.57 → 179, 110/224·1000 = 491.07 → 491,
# 60/112·1000 = 535.71 → 536.

FAMILIES = {"qwen2_5_vl": (28, "absolute"), "qwen3_vl": (32, "relative1000")}


def _polygon(box: tuple[int, int, int, int]) -> list[float]:
    x1, y1, x2, y2 = box
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def _config(records: Path, tmp_path: Path, family: str) -> dict:
    factor, convention = FAMILIES[family]
    return {
        "model": {"path": str(tmp_path / "unused-model"), "family": family},
        "data": {
            "root": str(records.parent),
            "mixture": {"datasets": [{"name": "boxes", "path": records.name}]},
            "resolution": {"factor": factor, "min_pixels": 4 * factor**2, "max_pixels": 64 * 28 * 28},
            "render": {"convention": convention, "box_types": {"hbb": 1}, "styles": {"plain": 1}},
        },
        "optim": {"lr": 1e-3},
        "output": {"dir": str(tmp_path / "run")},
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_grounding_targets_use_the_family_coordinates(tmp_path: Path, family: str) -> None:
    records = tmp_path / "records.jsonl"
    write_records(
        records,
        [
            Record(
                id=f"case{i}",
                dataset="boxes",
                task="grounding",
                images=[ImageRef(path=f"img{i}.png", width=w, height=h)],
                annotation=GroundingAnnotation(expression="the object", polygon=_polygon(box)),
            )
            for i, (w, h, box, *_) in enumerate(CASES)
        ],
    )
    dataset, _ = build_sampling(parse_config(_config(records, tmp_path, family)), None, 0, 1)
    expected = {f"case{i}": case[3] if family == "qwen2_5_vl" else case[4] for i, case in enumerate(CASES)}
    seen = {}
    for key in range(len(CASES)):
        sample = dataset.mixture[key]
        answer = next(m for m in sample.messages if m["role"] == "assistant")["content"][0]["text"]
        seen[sample.record_id] = ",".join(re.findall(r"\d+", answer))
    assert seen == expected
