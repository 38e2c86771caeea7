import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from rs_data import (
    DetectionAnnotation,
    ImagePart,
    ImageRef,
    Message,
    ObjectAnn,
    Record,
    RecordFileError,
    TextPart,
    VQAAnnotation,
    read_records,
    write_records,
)

SQUARE = [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]


def _detection() -> Record:
    objects = [ObjectAnn(label="plane", polygon=SQUARE, difficult=True)]
    return Record(
        id="P1",
        dataset="dota",
        task="detection",
        images=[ImageRef(path="images/P1.png", width=20, height=30)],
        annotation=DetectionAnnotation(objects=objects, classes=["plane"]),
    )


def test_jsonl_round_trip_resolves_relative_paths(tmp_path: Path) -> None:
    chat = Record(
        id="c1",
        dataset="geochat",
        task="instruction",
        images=[ImageRef(path="/abs/a.jpg", width=5, height=5)],
        messages=[Message(role="user", content=[ImagePart(image=0), TextPart(text="hi")])],
    )
    detection = _detection()
    detection.images[0].path = str(tmp_path / "images/P1.png")
    path = tmp_path / "records.jsonl"
    assert write_records(path, [detection, chat]) == 2
    assert json.loads(path.read_text().splitlines()[0])["images"][0]["path"] == "images/P1.png"  # inside: relative
    back = list(read_records(path))
    assert back[0].annotation == _detection().annotation
    assert back[0].images[0].path == str(tmp_path / "images/P1.png")
    assert back[1].images[0].path == "/abs/a.jpg"
    assert back[1].messages == chat.messages


def test_exactly_one_of_messages_and_annotation() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Record(id="x", dataset="d", task="vqa", images=[])


def test_task_and_annotation_kind_must_agree() -> None:
    with pytest.raises(ValidationError, match="cannot carry"):
        Record(
            id="x",
            dataset="d",
            task="grounding",
            images=[ImageRef(path="a", width=1, height=1)],
            annotation=VQAAnnotation(question="q", answer="a"),
        )


def test_polygon_needs_eight_finite_numbers() -> None:
    with pytest.raises(ValidationError, match="8 numbers"):
        ObjectAnn(label="a", polygon=[1, 2, 3])
    with pytest.raises(ValidationError, match="non-finite"):
        VQAAnnotation(question="q", answer="a", evidence=[[float("nan")] * 8])


def test_image_part_must_point_at_an_image() -> None:
    with pytest.raises(ValidationError, match="refers to image 1"):
        Record(
            id="x",
            dataset="d",
            task="instruction",
            images=[ImageRef(path="a", width=1, height=1)],
            messages=[Message(role="user", content=[ImagePart(image=1)])],
        )


def test_invalid_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = _detection().model_dump_json()
    path.write_text(good + "\n" + json.dumps({"id": "y"}) + "\n")
    with pytest.raises(RecordFileError, match=r"bad\.jsonl:2"):
        list(read_records(path))
