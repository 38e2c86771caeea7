"""Detection scoring from cached answers: text -> polygons -> rs-detect-eval, checked by hand."""

import numpy as np
import pytest
from rs_detect_eval import ImageDet
from rscovlm_eval.scoring import ScoringContext, export_task1, score_detection

FRAME = {"width": 1000, "height": 1000, "resized_width": 1000, "resized_height": 1000}  # no resize: pixels as-is
PLANE_A = [100.0, 100.0, 200.0, 100.0, 200.0, 150.0, 100.0, 150.0]
PLANE_B = [500.0, 500.0, 600.0, 500.0, 600.0, 550.0, 500.0, 550.0]


def _entry(prediction):
    objects = [{"label": "plane", "polygon": p, "difficult": False} for p in (PLANE_A, PLANE_B)]
    return {
        "id": "P0001",
        "prediction": prediction,
        "frame": FRAME,
        "target": {"kind": "detection", "objects": objects, "classes": ["plane", "ship"]},
    }


def test_one_hit_one_miss_hand_computed():
    answer = "100,100,200,100,200,150,100,150 plane\n800,800,900,800,900,850,800,850 plane\n1,2,3 ship"
    ctx = ScoringContext(convention="absolute", box_type="poly")
    result = score_detection([_entry(answer)], ctx)
    # both detections score 1; in input order the hit ranks first: precision [1, 1/2], recall [1/2, 1/2].
    # VOC07 11-point AP = 6 recall points (0.0 .. 0.5) at precision 1, out of 11.
    assert result.devkit.per_class["plane"].ap == pytest.approx(6 / 11)
    assert result.devkit.per_class["ship"].num_gt == 0
    assert result.dropped  # the 3-number "ship" line is reported, not silently lost
    assert result.mf1.f1 > 0


def test_task1_export_merges_patches_into_image_pixels(tmp_path):
    box = np.array([[10.0, 10.0, 60.0, 10.0, 60.0, 40.0, 10.0, 40.0]])
    dets = [
        ImageDet("P0001__1024__0___0", box + 500, ["plane"], np.ones(1)),
        ImageDet("P0001__1024__500___500", box, ["plane"], np.ones(1)),  # the same plane seen by the next patch
        ImageDet("P0002", box, ["small-vehicle"], np.ones(1)),  # a whole image, not a patch
    ]
    summary = export_task1(dets, ["plane", "small-vehicle"], tmp_path)
    assert summary.images == 2 and summary.objects == 2
    (plane,) = (tmp_path / "task1" / "Task1_plane.txt").read_text().splitlines()
    assert plane.split()[0] == "P0001" and [float(v) for v in plane.split()[2:4]] == [510.0, 510.0]
    assert (tmp_path / "task1" / "Task1_small-vehicle.txt").read_text().startswith("P0002 ")
    assert (tmp_path / "task1.zip").is_file()
