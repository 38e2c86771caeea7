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


def test_jsonl_round_trip_resolves_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
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


def test_written_paths_follow_the_records_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer run from the clone root with relative folders (as `rscovlm-train demo` is) writes records that read
    back from any working directory, and after their folder is moved."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs/demo/images").mkdir(parents=True)
    (tmp_path / "outputs/demo/images/P1.png").write_bytes(b"")
    (tmp_path / "elsewhere").mkdir()
    record = _detection().model_copy(
        update={
            "images": [
                ImageRef(path="outputs/demo/images/P1.png", width=20, height=30),  # relative to the working directory
                ImageRef(path="elsewhere/b.png", width=20, height=30),  # outside the records file's folder
            ]
        }
    )
    write_records("outputs/demo/records.jsonl", [record])
    stored = json.loads((tmp_path / "outputs/demo/records.jsonl").read_text())["images"]
    assert [image["path"] for image in stored] == ["images/P1.png", str(tmp_path / "elsewhere/b.png")]
    assert record.images[0].path == "outputs/demo/images/P1.png"  # the caller's record is left as it was
    monkeypatch.chdir(tmp_path / "elsewhere")
    (tmp_path / "outputs/demo").rename(tmp_path / "moved")
    back = next(read_records(tmp_path / "moved/records.jsonl"))
    assert Path(back.images[0].path) == tmp_path / "moved/images/P1.png" and Path(back.images[0].path).is_file()


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


def test_an_image_reference_may_name_a_window_of_its_file(tmp_path: Path) -> None:
    crop = ImageRef(path=str(tmp_path / "scene.png"), width=30, height=20, window=(100, 50, 130, 70))
    record = _detection().model_copy(
        update={"images": [crop, ImageRef(path=str(tmp_path / "P1.png"), width=20, height=30)]}
    )
    write_records(tmp_path / "records.jsonl", [record])
    stored = json.loads((tmp_path / "records.jsonl").read_text())["images"]
    assert stored == [
        {"path": "scene.png", "width": 30, "height": 20, "window": [100, 50, 130, 70]},
        {"path": "P1.png", "width": 20, "height": 30},  # no window: no key
    ]
    assert next(read_records(tmp_path / "records.jsonl")).images[0].window == (100, 50, 130, 70)


@pytest.mark.parametrize(
    ("window", "message"),
    [((5, 0, 5, 10), "needs 0 <= x0 < x1"), ((-1, 0, 4, 10), "needs 0 <= x0"), ((0, 0, 4, 10), "is not 5x10")],
)
def test_a_window_must_be_non_empty_and_of_the_references_size(window: tuple, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ImageRef(path="a.png", width=5, height=10, window=window)
