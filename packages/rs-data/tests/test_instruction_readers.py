"""Instruction data beyond LLaVA conversations: TEOChatlas time series, Qwen message lists, LLaVA-OneVision
`datasets` folders; several images per record, each rendered at its own size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data.readers import READERS
from rs_data.render import RenderConfig, render
from rs_data.schema import POLY_TAG, ImagePart
from rs_resolution import ResolutionPolicy

FRAMES = {
    "S2Looking/0001_before.png": (200, 100),
    "S2Looking/0001_after.png": (200, 100),
    "QFabric/0002_0.png": (280, 140),
    "QFabric/0002_1.png": (140, 140),
    "QFabric/0002_2.png": (140, 70),
}


def _draw(path: Path, size: tuple[int, int], value: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, 120, 60)).save(path)


@pytest.fixture(scope="module")
def teochatlas(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("teochatlas")
    shutil.copy(data_dir / "teochatlas" / "instruct_small.json", root)
    for index, (name, size) in enumerate(FRAMES.items()):
        _draw(root / name, size, 40 * index)
    return root / "instruct_small.json"


def _polys(text: str) -> list[list[float]]:
    return [[float(v) for v in m.group(1).split(",")] for m in POLY_TAG.finditer(text)]


def test_teochatlas_frames_in_time_order_and_boxes_in_pixels(teochatlas: Path) -> None:
    result = READERS["teochatlas"](teochatlas)
    change, temporal, caption = result.records
    # frames sorted by timestamp: 2017 (before) first
    assert [Path(i.path).name for i in change.images] == ["0001_before.png", "0001_after.png"]
    assert change.meta == {"timestamps": ["2017-03-11", "2019-05-02"], "task": "change_detection"}
    user, answer = change.messages
    assert [type(p) for p in user.content[:2]] == [ImagePart, ImagePart]
    assert [p.image for p in user.content[:2]] == [0, 1]
    # [10, 20, 30, 40] and [50, 50, 75, 90] on the 0-100 grid of a 200 x 100 frame
    assert _polys(answer.content[0].text) == [[20, 20, 60, 20, 60, 40, 20, 40], [100, 50, 150, 50, 150, 90, 100, 90]]
    assert answer.content[0].text.startswith("[<poly>") and "</poly>], [<poly>" in answer.content[0].text
    assert temporal.meta["timestamps"] == ["2018-01-05", "2018-07-09", "2019-02-14"]
    assert [(i.width, i.height) for i in temporal.images] == [(280, 140), (140, 140), (140, 70)]
    # a region caption repeating the question's box: the box is dropped from the answer, kept in the question
    assert caption.messages[1].content[0].text == "A destroyed building."
    assert _polys(caption.messages[0].content[-1].text) == [[20, 20, 60, 20, 60, 40, 20, 40]]
    reasons = [(s.line, s.reason) for s in result.skipped]
    assert reasons[0] == (None, "entry 3: 2 timestamps for 3 frames")
    assert reasons[1] == (None, "entry 4: box [10, 20, 130, 40] is beyond the 0-100 grid")
    assert reasons[2][1].startswith("image not found: xBD/missing.png")
    assert len(reasons) == 3


def test_teochatlas_renders_every_frame_at_its_own_size(teochatlas: Path) -> None:
    _change, temporal, _caption = READERS["teochatlas"](teochatlas).records
    sample = render(temporal, ResolutionPolicy(), RenderConfig(), np.random.default_rng(0))
    parts = [p for p in sample.messages[0]["content"] if p["type"] == "image"]
    sizes = [(p["resized_width"], p["resized_height"]) for p in parts]
    # smart_resize, factor 28, budget not reached: each side rounded to a multiple of 28 (70 / 28 = 2.5 -> 2,
    # half to even): 280x140 -> 280x140, 140x140 -> 140x140, 140x70 -> 140x56
    assert sizes == [(280, 140), (140, 140), (140, 56)]
    assert sizes == [(f.resized_width, f.resized_height) for f in sample.frames]
    assert "[20, 20, 60, 80]" not in sample.messages[0]["content"][-1]["text"]


def test_message_lists_with_typed_parts(tmp_path: Path) -> None:
    _draw(tmp_path / "a.png", (64, 32))
    _draw(tmp_path / "b.png", (32, 32))
    entries = [
        [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": [{"type": "image", "image": "file://a.png"}, {"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
        ],
        {
            "id": "m2",
            "images": ["b.png"],
            "messages": [
                {"role": "user", "content": "<image>\nCompare with this one:"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png"}}]},
                {"role": "assistant", "content": "Same."},
            ],
        },
        {"messages": [{"role": "user", "content": [{"type": "audio", "audio": "x.wav"}]}]},
        {"messages": [{"role": "robot", "content": "?"}]},
        [{"role": "user", "content": [{"type": "image", "image": "missing.png"}]}],
    ]
    src = tmp_path / "messages.jsonl"
    src.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    result = READERS["llava"](src)
    first, second = result.records
    # a JSONL entry without an id is named by its line number
    assert first.id == "1" and [m.role for m in first.messages] == ["system", "user", "assistant"]
    assert first.messages[1].content[0] == ImagePart(image=0) and Path(first.images[0].path).name == "a.png"
    assert second.id == "m2" and [Path(i.path).name for i in second.images] == ["b.png", "a.png"]
    assert (second.images[0].width, second.images[1].width) == (32, 64)
    assert [(s.line, s.reason.split(":")[0]) for s in result.skipped][:2] == [(3, "entry"), (4, "entry")]
    assert "unknown content part type 'audio'" in result.skipped[0].reason
    assert result.skipped[2].line == 5 and "image not found" in result.skipped[2].reason


@pytest.mark.slow  # importing `datasets` takes about ten seconds
def test_llava_onevision_datasets_folder(data_dir: Path, tmp_path: Path) -> None:
    import datasets  # a dev dependency of rs-data (the `hf` extra for users)

    rows = json.loads((data_dir / "llava_onevision" / "rows.json").read_text())
    for row in rows:
        if row["image"] == "rgb":
            row["image"] = Image.new("RGB", (48, 36), (10, 200, 30))
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "data_source": datasets.Value("string"),
            "image": datasets.Image(),
            "conversations": [{"from": datasets.Value("string"), "value": datasets.Value("string")}],
        }
    )
    datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(tmp_path / "shuffled-multimodal"))
    result = READERS["llava-onevision"](tmp_path / "shuffled-multimodal", images_out=tmp_path / "images")
    image_row, text_row = result.records
    assert (image_row.id, image_row.meta["data_source"]) == ("geo_ov_1", "ai2d")
    assert (image_row.images[0].width, image_row.images[0].height) == (48, 36)
    assert Image.open(image_row.images[0].path).getpixel((0, 0)) == (10, 200, 30)
    assert image_row.messages[0].content[0] == ImagePart(image=0)  # <image> added to the first human turn
    assert text_row.images == [] and text_row.messages[1].content[0].text == "Blue."
    (skip,) = result.skipped
    assert skip.reason.startswith("entry 2: bad turn")
