"""Inputs as a new user gives them: nothing may be lost, invented or counted twice, and every failure is a message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from detect_eval_synthetic import BOX, shifted
from rs_detect_eval import (
    CLASS_SETS,
    ImageDet,
    ImageGT,
    evaluate_map,
    evaluate_map_nc,
    evaluate_mf1,
    parse_objects,
    read_answers,
    read_task1_dir,
)
from rs_detect_eval.answers import AnswerTooLongError, DuplicateAnswerError
from rs_detect_eval.classes import ClassMatcher
from rs_detect_eval.cli import main
from rs_detect_eval.records import UnknownImageError
from rs_detect_eval.task1 import Task1FormatError, unknown_task1_files
from rs_resolution import ImageFrame

CLASSES = CLASS_SETS["dota1.0"]
FRAME = ImageFrame(width=1000, height=1000, resized_width=1000, resized_height=1000)


def _answers(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = [json.dumps({"image_id": image, "answer": answer, "width": 1000, "height": 1000}) for image, answer in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _labels(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.txt").write_text(text)
    return folder


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_ground_truth_without_any_object_scores_zero_with_a_note(tmp_path: Path) -> None:
    gts = [ImageGT("a", np.zeros((0, 8)), []), ImageGT("b", np.zeros((0, 8)), [])]
    dets = [ImageDet("a", BOX[None], ["ship"], [0.9])]
    for convention in ("devkit", "mmrotate", "valid"):
        result = evaluate_map(dets, gts, ["ship", "plane"], convention=convention)
        assert result.map == 0.0 and all(r.ap == 0.0 for r in result.per_class.values())
        assert result.per_class["ship"].num_det == 1 and "every AP is 0" in result.notes[0]
    nc = evaluate_map_nc(dets, gts, ["ship", "plane"])
    assert nc.map == 0.0 and nc.to_dict()["notes"]
    labels = _labels(tmp_path / "gt", {"a": "imagesource:GoogleEarth\ngsd:0.5\n", "b": ""})
    answers = _answers(tmp_path / "answers.jsonl", [("a", "10,10,20,10,20,20,10,20 ship")])
    for command in ("map", "mapnc"):
        result = _run(command, "--gt", str(labels), "--det", str(answers), "--out", str(tmp_path / "r.json"))
        assert result.exit_code == 0, result.output
        assert "note: no image has a ground-truth object" in result.output
        assert json.loads((tmp_path / "r.json").read_text())["map"] == 0.0


def test_detections_of_unknown_images_are_named_or_counted(tmp_path: Path) -> None:
    gts = [ImageGT("a", BOX[None], ["ship"])]
    dets = [
        ImageDet("a", BOX[None], ["ship"]),
        ImageDet("zz", BOX[None], ["ship"]),
        ImageDet("yy", BOX[None], ["ship"]),
    ]
    with pytest.raises(UnknownImageError, match="2 image\\(s\\) without ground truth: 'yy', 'zz'"):
        evaluate_map(dets, gts, ["ship"])
    with pytest.raises(UnknownImageError, match="'yy', 'zz'"):
        evaluate_mf1(dets, gts, ["ship"])
    result = evaluate_map(dets, gts, ["ship"], unknown_images="ignore")
    assert result.map == pytest.approx(1.0) and result.ignored_images == {"yy": 1, "zz": 1}
    labels = _labels(tmp_path / "gt", {"a": "0 0 10 0 10 10 0 10 ship 0\n"})
    answers = _answers(tmp_path / "answers.jsonl", [("a", "0,0,10,0,10,10,0,10 ship"), ("zz", "1,1,5,1,5,5,1,5 ship")])
    failed = _run("map", "--gt", str(labels), "--det", str(answers))
    assert failed.exit_code == 1 and "UnknownImageError" in failed.output and "'zz'" in failed.output
    assert (
        "Traceback" not in failed.output and failed.exception is not None and isinstance(failed.exception, SystemExit)
    )
    counted = _run("map", "--gt", str(labels), "--det", str(answers), "--ignore-unknown-images")
    assert counted.exit_code == 0 and "left out: 1 detections of 1 images without ground truth" in counted.output


def test_an_image_answered_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = _answers(tmp_path / "answers.jsonl", [("a", "There are none."), ("b", "There are none."), ("a", "x")])
    with pytest.raises(DuplicateAnswerError, match=r"answers.jsonl:1 and .*answers.jsonl:3: image 'a' answered twice"):
        read_answers(path, CLASSES)


def test_dota_style_space_separated_numbers_are_read() -> None:
    text = "660 369 673 369 673 390 660 390 small-vehicle\n1. 100 200 140 200 140 230 100 230 plane\n"
    result = parse_objects(text, "poly", FRAME, "absolute", CLASSES)
    assert [o.label for o in result.objects] == ["small-vehicle", "plane"] and not result.dropped
    np.testing.assert_array_equal(result.objects[0].polygon, [660, 369, 673, 369, 673, 390, 660, 390])
    # a line with a comma run is read by its commas only; a spaced run with the wrong count is dropped with a reason
    mixed = parse_objects("10,20,30,40 plane\n7 8 9 ship", "hbb", FRAME, "absolute", CLASSES)
    assert [o.label for o in mixed.objects] == ["plane"]
    assert [d.reason for d in mixed.dropped] == ["expected 4 numbers for a hbb box, got 3"]


def test_task1_file_names_are_read_on_their_text_form(tmp_path: Path) -> None:
    (tmp_path / "Task1_small_vehicle.txt").write_text("P1 0.9 0 0 10 0 10 10 0 10\n")
    (tmp_path / "Task1_Plane.txt").write_text("P1 0.8 0 0 10 0 10 10 0 10\n")
    (tmp_path / "Task1_whale.txt").write_text("P1 0.7 0 0 10 0 10 10 0 10\n")
    dets = read_task1_dir(tmp_path, CLASSES)
    assert [d.labels for d in dets] == [["plane"], ["small-vehicle"]]  # in class order, the class's own spelling
    assert unknown_task1_files(tmp_path, CLASSES) == [tmp_path / "Task1_whale.txt"]
    (tmp_path / "Task1_small-vehicle.txt").write_text("P1 0.6 0 0 10 0 10 10 0 10\n")
    with pytest.raises(Task1FormatError, match="two Task1 files for class 'small-vehicle'"):
        read_task1_dir(tmp_path, CLASSES)


def test_task1_files_of_unknown_classes_are_reported_by_the_cli(tmp_path: Path) -> None:
    labels = _labels(tmp_path / "gt", {"P1": "0 0 10 0 10 10 0 10 small-vehicle 0\n"})
    task1 = tmp_path / "task1"
    task1.mkdir()
    (task1 / "Task1_small_vehicle.txt").write_text("P1 0.9 0 0 10 0 10 10 0 10\n")
    (task1 / "Task1_whale.txt").write_text("P1 0.7 0 0 10 0 10 10 0 10\n")
    out = tmp_path / "r.json"
    result = _run("map", "--gt", str(labels), "--det", str(task1), "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    assert summary["per_class"]["small-vehicle"]["ap"] == pytest.approx(1.0)
    assert summary["input"]["task1_files_of_unknown_classes"] == [str(task1 / "Task1_whale.txt")]


def test_overlong_answer_lines_are_refused_before_parsing(tmp_path: Path) -> None:
    huge = "1," * 600_000  # 1.2 million characters of numbers
    path = _answers(tmp_path / "answers.jsonl", [("a", "There are none."), ("b", huge)])
    with pytest.raises(AnswerTooLongError, match=r"answers.jsonl:2: line longer than 1000000 characters"):
        read_answers(path, CLASSES)
    _, report = read_answers(path, CLASSES, max_line_chars=2_000_000)  # under a raised cap: one drop, no object
    assert report.answers == 2 and report.objects == 0 and sum(report.dropped.values()) == 1
    labels = _labels(tmp_path / "gt", {"a": "", "b": ""})
    failed = _run("f1", "--gt", str(labels), "--det", str(path))
    assert failed.exit_code == 1 and "AnswerTooLongError" in failed.output and "Traceback" not in failed.output


@pytest.mark.parametrize(
    "label",
    [
        "planet",
        "plan",
        "plant",
        "planes",
        "ships",
        "shop",
        "fridge",
        "harbour",
        "tennis",
        "storage tanker",
        "basketball courts and",
        "baseball court",
        "helipad",
        "pool",
    ],
)
def test_near_miss_labels_are_refused(label: str) -> None:
    assert ClassMatcher(CLASSES).match(label) is None


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Small_Vehicle", "small-vehicle"),
        ("smal vehicle", "small-vehicle"),
        ("helicoptor", "helicopter"),
        ("storage tanks", "storage-tank"),
        ("swiming pool", "swimming-pool"),
        ("basketbal court", "basketball-court"),
    ],
)
def test_typos_of_long_names_are_matched_and_listed(label: str, name: str) -> None:
    matcher = ClassMatcher(CLASSES)
    assert matcher.match(label) == name
    result = parse_objects(f"1,2,30,40 {label}", "hbb", FRAME, "absolute", CLASSES)
    assert result.objects[0].label == name
    assert result.fuzzy == ([] if label == "Small_Vehicle" else [(label, name)])  # a spelling variant is no guess


def test_fuzzy_matches_are_counted_in_the_answer_report(tmp_path: Path) -> None:
    path = _answers(
        tmp_path / "a.jsonl", [("a", "1,2,30,40 helicoptor\n5,6,70,80 planet"), ("b", "1,1,9,9 helicoptor")]
    )
    _, report = read_answers(path, CLASSES, "hbb")
    assert report.fuzzy_labels == {"helicoptor -> helicopter": 2}
    assert report.dropped == {"unknown label": 1} and report.objects == 2


def test_cli_errors_are_messages(tmp_path: Path) -> None:
    bad = _labels(tmp_path / "gt", {"P1": "1 1 5 1 5 x 1 5 plane 0\n"})
    good = _labels(tmp_path / "good", {"P1": "1 1 5 1 5 5 1 5 plane 0\n"})
    answers = _answers(tmp_path / "a.jsonl", [("P1", "There are none.")])
    task1 = _labels(tmp_path / "task1", {"Task1_plane": "P1 0.9 1 2 3\n"})
    cases = [
        ("map", "--gt", str(bad), "--det", str(answers)),  # a malformed label line
        ("map", "--gt", str(good), "--det", str(answers), "--classes", "no-such-set"),
        ("map", "--gt", str(good), "--det", str(task1)),  # a malformed Task1 line
        ("merge", "--det", str(task1), "--out", str(tmp_path / "m")),
    ]
    for args in cases:
        result = _run(*args)
        assert result.exit_code != 0 and "Error" in result.output and "Traceback" not in result.output, args
        assert isinstance(result.exception, SystemExit), (args, result.exception)


def test_two_boxes_for_one_object_are_one_hit_and_one_false_positive() -> None:
    # nothing counted twice: the second copy of a box is a false positive under every rule (precision 1, then 1/2)
    gts = [ImageGT("a", BOX[None], ["ship"])]
    dets = [ImageDet("a", np.stack([BOX, BOX, shifted(100)]), ["ship"] * 3, [0.9, 0.8, 0.7])]
    for convention in ("devkit", "mmrotate", "valid"):
        result = evaluate_map(dets, gts, ["ship"], convention=convention, ap_mode="area")
        assert result.map == pytest.approx(1.0) and result.per_class["ship"].precision[-1] == pytest.approx(1 / 3)
