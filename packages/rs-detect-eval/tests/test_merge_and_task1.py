import zipfile

import numpy as np
import pytest
from detect_eval_synthetic import BOX, synthetic_detections
from rs_detect_eval import (
    CLASS_SETS,
    ImageDet,
    Task1FormatError,
    evaluate_map,
    merge_patches,
    parse_patch_name,
    poly_iou_matrix,
    read_task1_dir,
    rotated_nms,
    write_task1,
)
from rs_resolution import obb_to_poly

CLASSES = CLASS_SETS["dota1.0"]


def test_parse_patch_names() -> None:
    name = parse_patch_name("P0706__1__0___158")
    assert (name.image_id, name.middle, name.left, name.top) == ("P0706", 1.0, 0, 158)
    assert parse_patch_name("P0001__1024__0___512").top == 512
    assert parse_patch_name("P0001__0.5__824___0").middle == 0.5
    with pytest.raises(ValueError, match="IMAGE__RATE__LEFT___TOP"):
        parse_patch_name("P0001_0_0")


def test_merge_shifts_and_suppresses_per_class() -> None:
    left = ImageDet("P1__1__0___0", np.stack([BOX + 100, BOX + 100]), ["ship", "plane"], [0.6, 0.5])
    right = ImageDet("P1__1__90___0", np.stack([BOX + [10, 100] * 4, BOX]), ["ship", "ship"], [0.9, 0.4])
    merged = merge_patches([left, right])
    assert len(merged) == 1 and merged[0].image_id == "P1"
    got = sorted(zip(merged[0].labels, merged[0].scores.tolist(), strict=True))
    assert got == [("plane", 0.5), ("ship", 0.4), ("ship", 0.9)]  # the 0.6 ship is the 0.9 one seen from another patch
    assert np.allclose(merged[0].polygons[0], BOX + 100)
    explicit = merge_patches(
        [ImageDet("tile7", BOX[None], ["ship"])], offsets={"tile7": (5, 7)}, image_ids={"tile7": "X"}
    )
    assert explicit[0].image_id == "X" and np.allclose(explicit[0].polygons[0], BOX + [5, 7] * 4)
    rated = merge_patches([ImageDet("P2__0.5__10___20", BOX[None], ["ship"])], rate_in_name=True)
    assert np.allclose(rated[0].polygons[0], (BOX + [10, 20] * 4) / 0.5)


def test_rotated_nms_matches_greedy_reference() -> None:
    rng = np.random.default_rng(1)
    obb = np.c_[rng.uniform(0, 120, (150, 2)), rng.uniform(10, 40, (150, 2)), rng.uniform(-90, 90, 150)]
    polygons, scores = obb_to_poly(obb), rng.random(150)
    groups = rng.integers(0, 2, 150)
    ious = poly_iou_matrix(polygons, polygons)
    expected, suppressed = [], np.zeros(150, dtype=bool)
    for i in np.argsort(-scores, kind="stable"):
        if not suppressed[i]:
            expected.append(i)
            suppressed |= (ious[i] > 0.1) & (groups == groups[i])
    np.testing.assert_array_equal(rotated_nms(polygons, scores, groups, 0.1), expected)


def test_task1_round_trip_zip_and_devkit_result(tmp_path, dota_gts) -> None:
    dets = synthetic_detections(dota_gts, CLASSES, seed=5)
    paths = write_task1(dets, tmp_path / "task1", CLASSES, zip_path=tmp_path / "submission.zip")
    assert len(paths) == len(CLASSES)
    assert zipfile.ZipFile(tmp_path / "submission.zip").namelist() == [p.name for p in paths]
    first = (tmp_path / "task1" / "Task1_small-vehicle.txt").read_text().splitlines()[0].split()
    assert first[0] == "P1088" and len(first) == 10
    back = read_task1_dir(tmp_path / "task1", CLASSES)
    assert sum(len(d.labels) for d in back) == sum(len(d.labels) for d in dets)
    for convention in ("devkit", "mmrotate"):
        direct = evaluate_map(dets, dota_gts, CLASSES, convention=convention)
        assert evaluate_map(back, dota_gts, CLASSES, convention=convention).to_dict() == direct.to_dict()
    with pytest.raises(ValueError, match="not one of"):
        write_task1([ImageDet("a", BOX[None], ["whale"])], tmp_path / "x", CLASSES)


def test_task1_errors_name_file_and_line(tmp_path) -> None:
    (tmp_path / "Task1_ship.txt").write_text("P1 0.9 0 0 10 0 10 10 0 10\nP1 0.8 0 0 10 0 10 10 0\n")
    with pytest.raises(Task1FormatError, match=r"Task1_ship.txt:2: expected image, score and 8 coordinates"):
        read_task1_dir(tmp_path)
    (tmp_path / "Task1_ship.txt").write_text("P1 high 0 0 10 0 10 10 0 10\n")
    with pytest.raises(Task1FormatError, match=r"Task1_ship.txt:1: non-numeric"):
        read_task1_dir(tmp_path, ["ship"])
