"""Shared fixtures: the real samples in `data/`, and small sources in the documented structure of formats that have
no public sample here (written once per test session); test helper modules importable by name."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(Path(__file__).parent))  # the rs_data_fuzzing helper module next to this file


def _image(path: Path, size: tuple[int, int], color=(90, 120, 60)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    return {
        "fair1m": _fair1m(root / "fair1m"),
        "rsvqa": _rsvqa(root / "rsvqa"),
        "vrsbench": _vrsbench(root / "vrsbench"),
        "llava": _llava(root / "geochat"),
        "coco": _coco(root / "coco"),
        "classification": _classification(root / "aid"),
        "dior-rsvg": _dior_rsvg(root / "dior_rsvg"),
        "captions": _captions(root / "captions"),
    }


def _fair1m(root: Path) -> Path:
    _image(root / "images" / "7.tif", (120, 100))
    objects = [
        ("Boeing737", [(10, 10), (50, 10), (50, 30), (10, 30)]),
        ("Small Car", [(60.5, 60), (80, 62), (78, 80), (58, 78)]),
        ("Flying Saucer", [(5, 5), (9, 5), (9, 9), (5, 9)]),
    ]
    body = "".join(
        "<object><coordinate>pixel</coordinate><type>rectangle</type><description>None</description>"
        f"<possibleresult><name>{name}</name><probability>1</probability></possibleresult><points>"
        + "".join(f"<point>{x:.6f},{y:.6f}</point>" for x, y in [*pts, pts[0]])
        + "</points></object>"
        for name, pts in objects
    )
    xml = (
        "<?xml version='1.0' encoding='utf-8'?>\n<annotation><source><filename>7.tif</filename><origin>GF2/GF3</origin>"
        "</source><research><version>1.0</version></research><size><width>120</width><height>100</height>"
        f"<depth>3</depth></size><objects>{body}</objects></annotation>"
    )
    (root / "labelXml").mkdir(parents=True)
    (root / "labelXml" / "7.xml").write_text(xml)
    (root / "labelXml" / "8.xml").write_text("<annotation><source><filename>8.tif</filename></source><size>")
    return root


def _rsvqa(root: Path) -> Path:
    for i in (0, 1):
        _image(root / "Images_LR" / f"{i}.tif", (32, 32))
    images = [
        {"id": 0, "questions_ids": [0, 1], "active": True},
        {"id": 1, "questions_ids": [2], "active": True},
        {"id": 2, "questions_ids": [3], "active": False},
    ]
    questions = [
        {"id": 0, "img_id": 0, "type": "presence", "question": "Is there a road?", "answers_ids": [0], "active": True},
        {
            "id": 1,
            "img_id": 0,
            "type": "count",
            "question": "How many buildings are there?",
            "answers_ids": [1],
            "active": True,
        },
        {
            "id": 2,
            "img_id": 1,
            "type": "rural_urban",
            "question": "Is it a rural or an urban area",
            "answers_ids": [2],
            "active": True,
        },
        {
            "id": 3,
            "img_id": 2,
            "type": "comp",
            "question": "Are there more roads than water areas?",
            "answers_ids": [3],
            "active": True,
        },
    ]
    answers = [
        {"id": 0, "question_id": 0, "answer": "yes", "active": True},
        {"id": 1, "question_id": 1, "answer": "between 11 and 100", "active": True},
        {"id": 2, "question_id": 2, "answer": "rural", "active": True},
        {"id": 3, "question_id": 3, "answer": "no", "active": True},
    ]
    for kind, key, rows in (
        ("images", "images", images),
        ("questions", "questions", questions),
        ("answers", "answers", answers),
    ):
        (root / f"LR_split_test_{kind}.json").write_text(json.dumps({key: rows}))
    return root


def _vrsbench(root: Path) -> Path:
    _image(root / "Images" / "P0003_0002.png", (200, 100))
    data = {
        "image": "P0003_0002.png",
        "caption": "The image shows a harbor with two ships.",
        "objects": [
            {
                "obj_id": 1,
                "obj_cls": "ship",
                "referring_sentence": "the ship at the top left",
                "obj_corner": [0.1, 0.1, 0.3, 0.1, 0.3, 0.2, 0.1, 0.2],
                "obj_coord": [0.1, 0.1, 0.3, 0.2],
                "is_unique": True,
            },
            {
                "obj_id": 2,
                "obj_cls": "ship",
                "referring_sentence": "",
                "obj_corner": [0.5] * 8,
                "obj_coord": [0.5, 0.5, 0.5, 0.5],
                "is_unique": False,
            },
        ],
        "qa_pairs": [{"ques_id": 0, "question": "How many ships are there?", "answer": "2", "type": "object quantity"}],
    }
    (root / "P0003_0002.json").write_text(json.dumps(data))
    return root


def _llava(root: Path) -> Path:
    _image(root / "images" / "geo1.jpg", (400, 200))
    rows = [
        {
            "id": "geo1",
            "image": "geo1.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\n[refer] Where is the small plane?"},
                {"from": "gpt", "value": "{<10><20><30><40>|<0>}"},
                {"from": "human", "value": "And the other one?"},
                {"from": "gpt", "value": "{<50><50><70><60>|<45>}"},
            ],
        },
        {"id": "geo2", "image": "missing.jpg", "conversations": [{"from": "human", "value": "hi"}]},
        {"id": "geo3", "image": "geo1.jpg", "conversations": []},
    ]
    (root / "geochat.json").write_text(json.dumps(rows))
    return root / "geochat.json"


def _coco(root: Path) -> Path:
    _image(root / "img" / "a.png", (100, 80))
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "ship"}, {"id": 2, "name": "harbor"}],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 20, 30, 10],
                "iscrowd": 0,
                "area": 300,
                "segmentation": [[10, 20, 40, 20, 40, 30, 10, 30]],
            },
            {
                "id": 11,
                "image_id": 1,
                "category_id": 2,
                "bbox": [50, 40, 20, 20],
                "iscrowd": 0,
                "area": 400,
                "segmentation": [[50, 40, 70, 40, 70, 50, 70, 60, 50, 60]],
            },
            {
                "id": 12,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 5, 5],
                "iscrowd": 1,
                "segmentation": {"size": [80, 100], "counts": "abc"},
            },
            {"id": 13, "image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        ],
    }
    (root / "instances.json").write_text(json.dumps(data))
    return root / "instances.json"


def _classification(root: Path) -> Path:
    for cls, n in (("airport", 2), ("beach", 2)):
        for i in range(n):
            _image(root / cls / f"{cls}_{i + 1}.jpg", (24, 24))
    (root / "beach" / "beach_9.jpg").write_bytes(b"not a jpeg")
    (root.parent / "aid_test.txt").write_text("airport/airport_2.jpg\nbeach_1.jpg\nbeach/beach_7.jpg\n")
    return root


def _dior_rsvg(root: Path) -> Path:
    shutil.copytree(DATA / "dior_rsvg" / "Annotations", root / "Annotations")
    (root / "test.txt").write_text("0\n")
    (root / "train.txt").write_text("5\n")
    return root


def _captions(root: Path) -> Path:
    data = json.loads((DATA / "captions" / "dataset_sydney_subset.json").read_text())
    for entry in data["images"][:-1]:
        _image(root / "images" / entry["filename"], (50, 50))
    shutil.copy(DATA / "captions" / "dataset_sydney_subset.json", root / "captions.json")
    return root
