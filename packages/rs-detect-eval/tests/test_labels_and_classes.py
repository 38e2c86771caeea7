from pathlib import Path

import numpy as np
import pytest
from rs_detect_eval import CLASS_SETS, DotaLabelError, load_classes, normalize_class, read_dota_label
from rs_detect_eval.classes import ClassMatcher

DATA = Path(__file__).parent / "data"


def test_reads_real_dota_labels(dota_gts) -> None:
    by_id = {gt.image_id: gt for gt in dota_gts}
    assert set(by_id) == {"P1088", "P1888"}
    p1888 = by_id["P1888"]
    assert len(p1888.labels) == 64  # 66 lines minus the imagesource/gsd header
    assert p1888.labels[0] == "small-vehicle"
    np.testing.assert_array_equal(p1888.polygons[0], [674, 375, 683, 375, 684, 394, 675, 395])
    assert p1888.polygons.shape == (64, 8)


def test_difficult_flags_and_missing_flag(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("gsd:0.5\n1 1 5 1 5 5 1 5 plane 1\n1 1 5 1 5 5 1 5 ship 2\n1 1 5 1 5 5 1 5 ship\n\n")
    gt = read_dota_label(path)
    assert gt.labels == ["plane", "ship", "ship"]
    assert gt.difficult.tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("line", "reason"),
    [("1 1 5 1 5 5 plane 0", "fields"), ("1 1 5 1 5 x 1 5 plane 0", "non-numeric"), ("1 1 5 1 5 5 1 5 p y", "flag")],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"imagesource:GoogleEarth\n{line}\n")
    with pytest.raises(DotaLabelError, match=rf"bad.txt:2: .*{reason}"):
        read_dota_label(path)


def test_class_sets_and_text_form(tmp_path: Path) -> None:
    assert len(CLASS_SETS["dota1.0"]) == 15 and len(CLASS_SETS["dota2.0"]) == 18
    assert len(CLASS_SETS["fair1m"]) == 37 and len(CLASS_SETS["dior-r"]) == 20
    assert normalize_class("Small-Vehicle") == "small vehicle"
    assert normalize_class("expressway_service-area") == "expressway service area"
    path = tmp_path / "classes.txt"
    path.write_text("a\nb\n\n")
    assert load_classes(path) == ["a", "b"]
    with pytest.raises(ValueError, match="unknown class set"):
        load_classes("no-such-set")


def test_class_matcher_fuzzy_threshold() -> None:
    matcher = ClassMatcher(CLASS_SETS["dota1.0"])
    assert matcher.match("small vehicle") == "small-vehicle"
    assert matcher.match("Storage_Tank") == "storage-tank"
    assert matcher.match("smal vehicle") == "small-vehicle"
    assert matcher.match("helicoptor") == "helicopter"
    assert matcher.match("airplane") is None
    assert matcher.match("car") is None
