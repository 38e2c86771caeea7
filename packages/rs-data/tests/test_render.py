"""Rendering: Qwen-style messages, upstream prompt wording, and the round trip render -> parse -> original pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rs_data import (
    CaptionAnnotation,
    ClassificationAnnotation,
    DetectionAnnotation,
    GroundingAnnotation,
    ImageRef,
    ObjectAnn,
    Record,
    VQAAnnotation,
)
from rs_data.readers import READERS
from rs_data.render import RenderConfig, RenderOverride, prompt_messages, render
from rs_detect_eval import parse_objects
from rs_resolution import ResolutionPolicy, canonical_poly, load_image, obb_to_poly, poly_to_hbb, resize_image

POLICY = ResolutionPolicy()
CONVENTIONS = ["absolute", "relative1000"]
BOX_TYPES = ["hbb", "obb", "poly"]
STYLES = ["plain", "json"]


@pytest.fixture(scope="session")
def dota_record(data_dir: Path) -> Record:
    return READERS["dota"](data_dir / "dota").records[0]


@pytest.fixture(scope="session")
def rectangles_record() -> Record:
    """Rotated rectangles with integer angles on a square image (OBB text is exact for these)."""
    rng = np.random.default_rng(3)
    objects = []
    for i in range(12):
        cx, cy = rng.integers(100, 700, size=2)
        w, h = rng.integers(20, 120), rng.integers(8, 20)
        angle = int(rng.integers(-89, 89))
        polygon = obb_to_poly(np.array([cx, cy, w, h, angle], dtype=np.float64))
        objects.append(ObjectAnn(label=["plane", "ship"][i % 2], polygon=polygon.tolist()))
    return Record(
        id="rects",
        dataset="synthetic",
        task="detection",
        images=[ImageRef(path="unused.png", width=812, height=812)],
        annotation=DetectionAnnotation(objects=objects, classes=["plane", "ship"]),
    )


def _config(convention: str, box_type: str, style: str) -> RenderConfig:
    return RenderConfig(convention=convention, box_types={box_type: 1.0}, styles={style: 1.0})


def _expected(polygon: np.ndarray, box_type: str) -> np.ndarray:
    if box_type == "hbb":
        return poly_to_hbb(polygon)
    return canonical_poly(polygon)


def _round_trip(record: Record, convention: str, box_type: str, style: str) -> None:
    sample = render(record, POLICY, _config(convention, box_type, style), np.random.default_rng(0))
    parsed = parse_objects(sample.answer, box_type, sample.frames[0], convention, classes=record.annotation.classes)
    assert not parsed.dropped
    originals = [(o.label, _expected(np.array(o.polygon), box_type)) for o in record.annotation.objects]
    matched = set()
    for obj in parsed.objects:
        got = _expected(obj.polygon, box_type)
        errors = [np.abs(got - want).max() if label == obj.label else np.inf for label, want in originals]
        best = int(np.argmin(errors))
        assert errors[best] <= 1.0, (obj.label, got, originals[best])
        matched.add(best)
    assert len(matched) == len(originals) == len(parsed.objects)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("box_type", ["hbb", "poly"])
@pytest.mark.parametrize("style", STYLES)
def test_round_trip_real_dota_objects(dota_record: Record, convention: str, box_type: str, style: str) -> None:
    _round_trip(dota_record, convention, box_type, style)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("box_type", BOX_TYPES)
@pytest.mark.parametrize("style", STYLES)
def test_round_trip_rotated_rectangles(rectangles_record: Record, convention: str, box_type: str, style: str) -> None:
    _round_trip(rectangles_record, convention, box_type, style)


def test_detection_messages_follow_qwen_and_upstream(dota_record: Record) -> None:
    sample = render(dota_record, POLICY, _config("absolute", "hbb", "plain"), np.random.default_rng(0))
    system, user, assistant = sample.messages
    assert system["role"] == "system" and "'x1,y1,x2,y2 object'" in system["content"][0]["text"]
    image, text = user["content"]
    frame = sample.frames[0]
    assert image == {
        "type": "image",
        "image": dota_record.images[0].path,
        "resized_height": frame.resized_height,
        "resized_width": frame.resized_width,
    }
    assert (frame.resized_height, frame.resized_width) == POLICY.resized_size(557, 712)
    assert text["text"].startswith("find the baseball diamond, basketball court, bridge, ground track field")
    assert assistant["role"] == "assistant" and sample.answer.splitlines()[0].endswith("large vehicle")
    assert prompt_messages(sample) == [system, user]
    assert (sample.box_type, sample.style, sample.target) == ("hbb", "plain", dota_record.annotation)


def test_empty_detection_answers_there_are_none() -> None:
    record = Record(
        id="e",
        dataset="d",
        task="detection",
        images=[ImageRef(path="x.png", width=100, height=100)],
        annotation=DetectionAnnotation(objects=[], classes=["ship"]),
    )
    for style in STYLES:
        assert render(record, POLICY, _config("absolute", "poly", style), np.random.default_rng(0)).answer == (
            "There are none."
        )


def _simple(task: str, annotation) -> Record:
    return Record(
        id="s", dataset="d", task=task, images=[ImageRef(path="x.png", width=280, height=280)], annotation=annotation
    )


def test_classification_caption_and_vqa_templates() -> None:
    rng = np.random.default_rng(0)
    cls = render(
        _simple("classification", ClassificationAnnotation(label="Airport", classes=["Airport", "Beach"])),
        POLICY,
        RenderConfig(),
        rng,
    )
    assert cls.messages[0]["content"][1]["text"] == "Classify the image within one of the given classes:airport,beach."
    assert cls.answer == "airport"
    cap = render(_simple("captioning", CaptionAnnotation(captions=["a", "b"])), POLICY, RenderConfig(), rng)
    assert cap.messages[0]["content"][1]["text"] == "Describe the image" and cap.answer in {"a", "b"}
    config = RenderConfig(templates={"vqa": "{question}\nAnswer the question using a single word or phrase."})
    vqa = render(_simple("vqa", VQAAnnotation(question="Is there a road?", answer="yes")), POLICY, config, rng)
    assert vqa.messages[0]["content"][1]["text"].endswith("single word or phrase.") and vqa.answer == "yes"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_grounding_answer_round_trips(convention: str) -> None:
    polygon = [100.0, 50.0, 180.0, 50.0, 180.0, 90.0, 100.0, 90.0]
    record = _simple("grounding", GroundingAnnotation(expression="the white ship", polygon=polygon))
    for style in STYLES:
        sample = render(record, POLICY, _config(convention, "hbb", style), np.random.default_rng(0))
        prompt = sample.messages[-2]["content"][1]["text"]
        assert prompt in {
            "find the the white ship",
            "Locate the the white ship, output the bbox coordinates using JSON format",
        }
        (obj,) = parse_objects(sample.answer, "hbb", sample.frames[0], convention).objects
        np.testing.assert_allclose(poly_to_hbb(obj.polygon), [100, 50, 180, 90], atol=1.0)


def test_instruction_boxes_are_written_for_the_resized_image(sources: dict[str, Path]) -> None:
    (record,) = READERS["llava"](sources["llava"], images=sources["llava"].parent / "images").records
    sample = render(record, POLICY, RenderConfig(convention="relative1000"), np.random.default_rng(0))
    assert sample.messages[0]["content"][0]["type"] == "image"
    # x 40..120 of 400 px, y 40..80 of 200 px -> 0-1000: 100,200,300,400
    assert sample.messages[1]["content"][0]["text"] == "100,200,300,400"


def test_random_resize_changes_the_frame_within_the_budget(dota_record: Record) -> None:
    policy = ResolutionPolicy(min_pixels=56 * 56, max_pixels=600 * 600)
    config = RenderConfig(random_resize_prob=1.0)
    sizes = {render(dota_record, policy, config, np.random.default_rng(s)).frames[0].resized_size for s in range(5)}
    assert len(sizes) > 1
    assert all(56 * 56 <= w * h <= 600 * 600 and w % 28 == 0 and h % 28 == 0 for w, h in sizes)


def test_same_seed_same_sample_and_images_load_at_frame_size(dota_record: Record) -> None:
    a = render(dota_record, POLICY, RenderConfig(), np.random.default_rng(7), load_images=True)
    b = render(dota_record, POLICY, RenderConfig(), np.random.default_rng(7))
    assert a.messages == b.messages
    assert a.images[0].size == a.frames[0].resized_size


@pytest.mark.parametrize(
    "bad",
    [{"box_types": {"hbb": -1.0}}, {"styles": {}}, {"box_types": {"rbox": 1.0}}, {"templates": {"nope": "x"}}],
)
def test_render_config_rejects_bad_fields(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RenderConfig(**bad)


@pytest.mark.parametrize("style", STYLES)
def test_obb_round_trip_on_a_wide_image_in_absolute_pixels(rectangles_record: Record, style: str) -> None:
    wide = rectangles_record.model_copy(deep=True)
    wide.images[0] = ImageRef(path="unused.png", width=812, height=1120)
    _round_trip(wide, "absolute", "obb", style)


def test_an_override_replaces_only_the_fields_it_gives() -> None:
    base = RenderConfig(styles={"plain": 1.0}, random_resize_prob=0.5, templates={"captioning": "Describe it"})
    override = RenderOverride.model_validate(
        {"box_types": {"hbb": 1}, "random_resize_prob": 0.0, "templates": {"vqa": "Q: {question}"}}
    )
    merged = base.merged(override)
    assert type(merged) is RenderConfig and merged.box_types == {"hbb": 1.0} and merged.random_resize_prob == 0.0
    assert merged.styles == {"plain": 1.0}  # not given: the global value stays
    assert (merged.templates.vqa, merged.templates.captioning) == ("Q: {question}", "Describe it")
    assert merged.templates.detection_plain == base.templates.detection_plain
    assert base.merged(None) is base and base.merged(RenderOverride()) == base
    assert override.model_dump() == {
        "box_types": {"hbb": 1.0},
        "random_resize_prob": 0.0,
        "templates": {"vqa": "Q: {question}"},
    }
    assert RenderOverride.model_validate(override.model_dump()) == override


def _time_series(paths: list[str], sizes: list[tuple[int, int]]) -> Record:
    return Record(
        id="t",
        dataset="teochatlas",
        task="vqa",
        images=[ImageRef(path=p, width=w, height=h) for p, (w, h) in zip(paths, sizes, strict=True)],
        annotation=VQAAnnotation(question="Has the building been destroyed?", answer="Yes"),
    )


def test_a_multi_image_vqa_record_shows_every_frame_at_its_own_size() -> None:
    # smart_resize with factor 28: 560x280 stays; 300x200 -> 308x196 (300/28 = 10.7 -> 11, 200/28 = 7.1 -> 7)
    record = _time_series(["t0.png", "t1.png", "t2.png"], [(560, 280), (300, 200), (280, 280)])
    sample = render(record, ResolutionPolicy(factor=28), RenderConfig(), np.random.default_rng(0))
    for messages in (sample.messages, prompt_messages(sample)):
        user = next(m for m in messages if m["role"] == "user")
        parts = [(p["image"], p["resized_width"], p["resized_height"]) for p in user["content"][:-1]]
        assert parts == [("t0.png", 560, 280), ("t1.png", 308, 196), ("t2.png", 280, 280)]
        assert user["content"][-1]["text"].startswith("Has the building been destroyed?")
    assert sample.answer == "Yes"


@pytest.mark.parametrize(
    ("convention", "expected"), [("absolute", "[28,56,84,112]"), ("relative1000", "[100,200,300,400]")]
)
def test_vqa_box_markers_are_written_in_the_model_convention(convention: str, expected: str) -> None:
    # a 560 x 560 image seen at 280 x 280 (max_pixels 280 x 280): box 56..168 x 112..224 -> 28..84 x 56..112 resized,
    # or 100..300 x 200..400 on the 0-1000 grid
    box = "<poly>56,112,168,112,168,224,56,224</poly>"
    record = _time_series(["a.png", "b.png"], [(560, 560), (560, 560)])
    record.annotation = VQAAnnotation(question=f"What changed at [{box}]?", answer=f"[{box}]")
    policy = ResolutionPolicy(factor=28, max_pixels=280 * 280)
    sample = render(record, policy, RenderConfig(convention=convention), np.random.default_rng(0))
    assert sample.messages[0]["content"][-1]["text"].startswith(f"What changed at {expected}?")
    assert sample.answer == expected


def _on_280(annotation: DetectionAnnotation | VQAAnnotation) -> Record:
    task = "vqa" if isinstance(annotation, VQAAnnotation) else "detection"
    images = [ImageRef(path="edge.png", width=280, height=280)]
    return Record(id="edge", dataset="synthetic", task=task, images=images, annotation=annotation)


def test_boxes_brought_into_the_image_are_reported_with_the_sample() -> None:
    # a 280 x 280 image stays 280 x 280 (factor 28): the ship's box -20..100 x 10..50 leaves the image on the left
    ship = ObjectAnn(label="ship", polygon=[-20, 10, 100, 10, 100, 50, -20, 50])
    plane = ObjectAnn(label="plane", polygon=[150, 150, 200, 150, 200, 200, 150, 200])
    detection = DetectionAnnotation(objects=[plane, ship], classes=["plane", "ship"])
    sample = render(
        _on_280(detection), ResolutionPolicy(), _config("absolute", "hbb", "plain"), np.random.default_rng(0)
    )
    assert sample.answer == "150,150,200,200 plane\n0,10,100,50 ship"
    assert sample.clipped == ["object 1 ('ship'): leaves the image; box clamped to the image"]
    question = VQAAnnotation(question="What is at [<poly>-20,10,100,10,100,50,-20,50</poly>]?", answer="a ship")
    sample = render(_on_280(question), ResolutionPolicy(), RenderConfig(), np.random.default_rng(0))
    assert sample.messages[0]["content"][-1]["text"].startswith("What is at [0,10,100,50]?")
    assert sample.clipped == ["object 0 (''): leaves the image; box clamped to the image"]
    inside = VQAAnnotation(question="What is at [<poly>150,150,200,150,200,200,150,200</poly>]?", answer="a plane")
    assert render(_on_280(inside), ResolutionPolicy(), RenderConfig(), np.random.default_rng(0)).clipped == []


def test_a_box_marker_in_a_text_only_record_is_a_named_error() -> None:
    from rs_data.schema import Message, TextPart

    messages = [
        Message(role="user", content=[TextPart(text="Where is it?")]),
        Message(role="assistant", content=[TextPart(text="At <poly>1,1,5,1,5,5,1,5</poly>.")]),
    ]
    record = Record(id="words", dataset="synthetic", task="instruction", images=[], messages=messages)
    with pytest.raises(ValueError, match=r"record words: messages\[1\]\.content\[0\] has a <poly> marker"):
        render(record, ResolutionPolicy(), RenderConfig(), np.random.default_rng(0))


def test_a_windowed_image_is_shown_and_loaded_as_its_window(data_dir: Path) -> None:
    record = READERS["dota"](data_dir / "dota").records[0]
    path = record.images[0].path
    crop = ImageRef(path=path, width=120, height=90, window=(200, 100, 320, 190))
    windowed = Record(
        id="w", dataset="d", task="vqa", images=[crop], annotation=VQAAnnotation(question="q", answer="a")
    )
    sample = render(windowed, POLICY, RenderConfig(), np.random.default_rng(0), load_images=True)
    part = sample.messages[0]["content"][0]
    assert part["image"] == path and part["window"] == [200, 100, 320, 190]
    frame = sample.frames[0]
    assert (frame.width, frame.height) == (120, 90)
    expected = resize_image(load_image(path).crop((200, 100, 320, 190)), frame.resized_height, frame.resized_width)
    assert np.array_equal(np.asarray(sample.images[0]), np.asarray(expected))
    whole = render(record, POLICY, RenderConfig(), np.random.default_rng(0))
    assert "window" not in whole.messages[0]["content"][0]
