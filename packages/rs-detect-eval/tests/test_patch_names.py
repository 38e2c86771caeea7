"""Patch names of both DOTA splitters, and merging their detections back to the source image."""

import numpy as np
import pytest
from rs_detect_eval import ImageDet, merge_patches, parse_patch_name

# P1888's first label line: 674 375 683 375 684 394 675 395 small-vehicle 0
CAR = np.array([674.0, 375, 683, 375, 684, 394, 675, 395])


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("P1888__1__200___45", ("P1888", 1.0, 200, 45, 1.0)),  # DOTA_devkit, splitdata(1)
        ("P1888__1.0__200___45", ("P1888", 1.0, 200, 45, 1.0)),  # DOTA_devkit, splitdata(1.0)
        ("P1888__0.5__0___0", ("P1888", 0.5, 0, 0, 0.5)),  # DOTA_devkit, splitdata(0.5)
        ("P1888__2__1200___0", ("P1888", 2.0, 1200, 0, 2.0)),  # DOTA_devkit, splitdata(2)
        ("P1888__512__200___45", ("P1888", 512.0, 200, 45, 1.0)),  # mmrotate, size 512
        ("P1888__2048__0___824", ("P1888", 2048.0, 0, 824, 1.0)),  # mmrotate, size 1024 at rate 0.5
        ("P__0001__1024__0___0", ("P__0001", 1024.0, 0, 0, 1.0)),  # an image id with double underscores
    ],
)
def test_both_naming_schemes(name, parts) -> None:
    parsed = parse_patch_name(name)
    assert (parsed.image_id, parsed.middle, parsed.left, parsed.top, parsed.rate) == parts


def test_merge_undoes_both_schemes() -> None:
    dets = [
        ImageDet("P1888__512__200___45", (CAR - np.tile([200, 45], 4))[None], ["small-vehicle"], [0.9]),
        ImageDet("P1888__0.5__0___0", (CAR * 0.5)[None], ["small-vehicle"], [0.8]),
        ImageDet("P1888__1__200___0", (CAR - np.tile([200, 0], 4))[None], ["small-vehicle"], [0.7]),
    ]
    for det in dets:
        (merged,) = merge_patches([det], rate_in_name=True)
        assert merged.image_id == "P1888"
        np.testing.assert_allclose(merged.polygons[0], CAR)
    (merged,) = merge_patches(dets, rate_in_name=True)
    assert merged.scores.tolist() == [0.9]  # the three are one car, suppressed to the best
