"""Writing and reading box text: round trips on real DOTA labels, hostile answers, and a hypothesis fuzz."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rs_detect_eval import CLASS_SETS, EMPTY_ANSWER, format_objects, parse_objects, poly_iou_matrix
from rs_detect_eval.answer_parsing import NUMBER
from rs_resolution import ImageFrame, poly_to_hbb

CLASSES = CLASS_SETS["dota1.0"]
FRAME = ImageFrame(width=1100, height=1000, resized_width=1092, resized_height=980)


@pytest.fixture(scope="module")
def objects(dota_gts) -> list[tuple[str, np.ndarray]]:
    gt = next(g for g in dota_gts if g.image_id == "P1888")
    return list(zip(gt.labels, gt.polygons, strict=True))


@pytest.mark.parametrize("box_type", ["hbb", "poly", "obb"])
@pytest.mark.parametrize("style", ["plain", "json"])
@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_round_trip_on_real_labels(objects, box_type: str, style: str, convention: str) -> None:
    text = format_objects(objects, box_type, style, FRAME, convention)
    parsed = parse_objects(text, box_type, FRAME, convention, CLASSES)
    assert parsed.dropped == [] and not parsed.empty_answer
    assert sorted(o.label for o in parsed.objects) == sorted(label for label, _ in objects)
    again = format_objects([(o.label, o.polygon) for o in parsed.objects], box_type, style, FRAME, convention)
    assert again == text  # writing what was read gives the same text back
    if box_type == "obb":
        return  # an OBB is the fitted rectangle, checked in test_obb_is_the_fitted_rectangle
    step = max(FRAME.width / 1000, FRAME.width / FRAME.resized_width)  # one grid step in original pixels
    for label, polygon in objects:
        same = [o for o in parsed.objects if o.label == label]
        if box_type == "hbb":
            assert any(np.allclose(poly_to_hbb(o.polygon), poly_to_hbb(polygon), atol=step) for o in same)
        else:
            assert poly_iou_matrix(polygon[None], np.array([o.polygon for o in same])).max() > 0.6


def test_obb_is_the_fitted_rectangle() -> None:
    rectangle = np.array([100, 100, 300, 140, 290, 190, 90, 150.0])
    text = format_objects([("ship", rectangle)], "obb", "plain", FRAME, "absolute")
    parsed = parse_objects(text, "obb", FRAME, "absolute", CLASSES).objects[0]
    assert poly_iou_matrix(parsed.polygon[None], rectangle[None])[0, 0] > 0.95
    _, _, w, h, angle = (int(v) for v in text.split()[0].split(","))
    assert w >= h and -90 <= angle < 90


EDGE_FRAME = ImageFrame(width=100, height=100, resized_width=100, resized_height=100)


@pytest.mark.parametrize(
    ("box_type", "ship", "reason"),
    [
        # The rectangle's corner (50, -5) is above the image. Its fitted OBB (centre (52.5, 7.5), sides 15 * sqrt 2 =
        # 21.2 and 10 * sqrt 2 = 14.1, 45 degrees) would leave the image too, so it is written as its HBB target
        # x 40..65, y -5..20 clamped to 0..20: centre (52.5, 10) rounded half up, 25 x 20, angle 0.
        ("obb", "53,10,25,20,0", "oriented box replaced by its HBB box clamped to the image"),
        ("hbb", "40,0,65,20", "box clamped to the image"),
        # (50, -5) clamped to (50, 0), the top-most corner, first; clockwise on screen.
        ("poly", "50,0,65,10,55,20,40,5", "corners clamped to the image"),
    ],
)
def test_boxes_leaving_the_image_are_clipped_alike_and_reported(box_type: str, ship: str, reason: str) -> None:
    tilted = np.array([50, -5, 65, 10, 55, 20, 40, 5.0])
    # a rectangle at 45 degrees inside the image: centre (25, 45), sides 20 * sqrt 2 = 28.3 and 14.1, x 10..40, y 30..60
    inside = np.array([20, 30, 40, 50, 30, 60, 10, 40.0])
    plane = {"obb": "25,45,28,14,45", "hbb": "10,30,40,60", "poly": "20,30,40,50,30,60,10,40"}[box_type]
    clipped: list[str] = []
    text = format_objects([("ship", tilted), ("plane", inside)], box_type, "plain", EDGE_FRAME, "absolute", clipped)
    assert text == f"{plane} plane\n{ship} ship"
    assert clipped == [f"object 0 ('ship'): leaves the image; {reason}"]


def test_order_and_class_text() -> None:
    lower = np.array([0, 500, 10, 500, 10, 510, 0, 510.0])
    upper = np.array([50, 20, 60, 20, 60, 30, 50, 30.0])
    text = format_objects(
        [("small-vehicle", lower), ("small-vehicle", upper), ("plane", lower)], "hbb", "plain", FRAME, "absolute"
    )
    lines = text.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["plane", "small vehicle", "small vehicle"]
    assert lines[1].startswith("50,20,")  # same class: the upper box first
    assert format_objects([], "poly", "json", FRAME, "absolute") == EMPTY_ANSWER
    assert format_objects([("", upper)], "hbb", "plain", FRAME, "absolute") == "50,20,60,29"  # a bare box


def test_empty_answer() -> None:
    result = parse_objects("There are none.", "poly", FRAME, "absolute", CLASSES)
    assert result.empty_answer and result.objects == [] and result.dropped == []


def _reasons(result) -> list[str]:
    return [d.reason for d in result.dropped]


def test_hostile_json_answers() -> None:
    text = (
        "Sure! Here are the objects:\n```json\n[\n"
        "  {'bbox_2d': [10, 20, 30, 40], 'label': 'plane',},\n"
        '  {"bbox_2d": [30.5, -4, 10, 60], "label": "Small_Vehicle"},\n'
        '  {"bbox_2d": [[1, 2], [3, 4]], "label": "helicoptor"},\n'
        '  {"bbox_2d": [1, 2, 3], "label": "ship"},\n'
        '  {"bbox_2d": [1, 2, 3, 4], "label": "whale"},\n'
        '  {"bbox_2d": [1, 2, "x", 4], "label": "ship"},\n'
        '  {"bbox_2d": [1, 2, 3, 1e400], "label": "ship"},\n'
        '  {"label": "ship"},\n'
        '  {"bbox_2d": [5, 6, 7, 8], "label": "harbor"\n'
        '  {"bbox_2d": [5, 6'
    )
    result = parse_objects(text, "hbb", FRAME, "absolute", CLASSES)
    assert [o.label for o in result.objects] == ["plane", "small-vehicle", "helicopter", "harbor"]
    swapped = result.objects[1].polygon  # corners given right-to-left are put in order
    assert swapped[0] < swapped[2] and swapped[1] < 0
    assert _reasons(result) == [
        "expected 4 numbers for a hbb box, got 3",
        "unknown label 'whale'",
        "non-numeric box value",
        "non-finite box value",
        "object without a box field",
        "truncated or malformed box list",
    ]


def test_hostile_plain_answers() -> None:
    text = (
        "I can see the following objects in the image.\n"
        "1. 10,20,30,40 plane.\n"
        "- 100, 200, 300, 400 storage tank\n"
        "50,60,70,80\n"
        "5,6,7 ship\n"
        "12,34,56,78 spaceship, 90,91,92,93 ship\n"
        "That is all; there are 3 more I am unsure about."
    )
    result = parse_objects(text, "hbb", FRAME, "absolute", CLASSES)
    assert [o.label for o in result.objects] == ["plane", "storage-tank", "ship"]
    assert _reasons(result) == [
        "missing label",
        "expected 4 numbers for a hbb box, got 3",
        "unknown label 'spaceship'",
    ]
    free = parse_objects("10,20,30,40 a red car", "hbb", FRAME, "absolute")
    assert free.objects[0].label == "a red car"  # no class list: the text form is kept


def test_coordinates_map_back_through_the_frame() -> None:
    frame = ImageFrame(width=2000, height=1000, resized_width=1000, resized_height=500)
    absolute = parse_objects("10,20,30,40 ship", "hbb", frame, "absolute", CLASSES).objects[0].polygon
    relative = parse_objects("10,20,30,40 ship", "hbb", frame, "relative1000", CLASSES).objects[0].polygon
    np.testing.assert_allclose(absolute[[0, 1, 4, 5]], [20, 40, 60, 80])
    np.testing.assert_allclose(relative[[0, 1, 4, 5]], [20, 20, 60, 40])


def test_non_text_answer_is_reported() -> None:
    result = parse_objects(None, "hbb", FRAME, "absolute", CLASSES)  # type: ignore[arg-type]
    assert result.objects == [] and _reasons(result) == ["answer is not text"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(), box_type=st.sampled_from(["hbb", "obb", "poly"]))
def test_fuzz_any_text_never_crashes(text: str, box_type: str) -> None:
    result = parse_objects(text, box_type, FRAME, "relative1000", CLASSES)
    for item in result.objects:
        assert item.label in CLASSES and item.polygon.shape == (8,) and np.isfinite(item.polygon).all()
    if not any(ch.isdigit() for ch in text):
        assert result.objects == []


_NUMBER = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "-", ".", "1e400", "0x10", "١٢"]),
)
_FRAGMENT = st.builds(
    lambda nums, label, sep: sep.join(nums) + " " + label,
    st.lists(_NUMBER, min_size=0, max_size=10),
    st.sampled_from(["plane", "ship", "Ship-", "whale", "", "harbour", "`plane`"]),
    st.sampled_from([",", ", ", " ,"]),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_FRAGMENT, max_size=6), wrap=st.sampled_from(["{}", "```\n{}\n```", "Answer: {} done"]))
def test_fuzz_every_object_is_written_in_the_text(lines: list[str], wrap: str) -> None:
    text = wrap.format("\n".join(lines))
    identity = ImageFrame(width=1000, height=1000, resized_width=1000, resized_height=1000)
    result = parse_objects(text, "hbb", identity, "absolute", CLASSES)
    assert len(result.objects) <= len(lines)  # one labelled box a line at most
    written = [float(n) for n in re.findall(NUMBER, text)]
    for item in result.objects:
        assert all(any(np.isclose(v, n) for n in written) for v in poly_to_hbb(item.polygon))


@settings(max_examples=200, deadline=None)
@given(
    cut=st.integers(0, 10_000),
    box_type=st.sampled_from(["hbb", "obb", "poly"]),
    style=st.sampled_from(["plain", "json"]),
)
def test_fuzz_truncated_answers_never_invent_boxes(objects, cut: int, box_type: str, style: str) -> None:
    text = format_objects(objects[:12], box_type, style, FRAME, "absolute")
    full = parse_objects(text, box_type, FRAME, "absolute", CLASSES).objects
    truncated = parse_objects(text[: cut % (len(text) + 1)], box_type, FRAME, "absolute", CLASSES)
    originals = [(o.label, o.polygon) for o in full]
    for item in truncated.objects:
        assert any(item.label == label and np.allclose(item.polygon, polygon) for label, polygon in originals)


_JSON_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "bbox_2d": st.lists(
            st.one_of(st.integers(-5000, 5000), st.floats(allow_nan=False, width=32), st.text(max_size=3)), max_size=9
        ),
        "label": st.one_of(st.sampled_from([*CLASSES, "whale", "Small Vehicle", ""]), st.text(max_size=8)),
        "note": st.text(max_size=5),
    },
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_JSON_ITEM, max_size=5), cut=st.integers(0, 5000), single_quotes=st.booleans())
def test_fuzz_json_answers(items: list[dict], cut: int, single_quotes: bool) -> None:
    text = json.dumps(items)
    text = text.replace('"', "'") if single_quotes else text
    text = text[: cut % (len(text) + 1)]
    identity = ImageFrame(width=1000, height=1000, resized_width=1000, resized_height=1000)
    result = parse_objects(text, "hbb", identity, "absolute", CLASSES)
    assert len(result.objects) <= len(items)
    written = [float(n) for n in re.findall(NUMBER, text)]
    for item in result.objects:
        assert item.label in CLASSES
        assert all(any(np.isclose(v, n) for n in written) for v in poly_to_hbb(item.polygon))
