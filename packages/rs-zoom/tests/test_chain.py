import json

import numpy as np
import pytest
from PIL import Image
from rs_resolution import ResolutionPolicy, to_model
from rs_zoom import (
    ZOOM_INSTRUCTION,
    ZOOMED_PROMPT,
    ChainItem,
    CropPolicy,
    format_tool_call,
    run_chain,
    run_chains,
    sources,
    tool_system_prompt,
    write_pyramid,
)

# The overview of the 3000 x 2000 test image is 420 x 280 (factor 28): 7.14 original pixels per overview pixel.
POLICY = ResolutionPolicy(factor=28, min_pixels=4 * 28 * 28, max_pixels=150 * 28 * 28)
EXACT = CropPolicy(margin=0, min_size=1)


def test_one_round_crops_from_the_original_pixels(coordinate_png, helpers):
    # Ask for the overview region [140, 70, 168, 98]: original [1000, 500, 1200, 700], 200 x 200 pixels.
    model = helpers.ScriptedModel({"What is it?": [format_tool_call([140, 70, 168, 98]), "A harbour."]})
    result = run_chain(model, coordinate_png, "What is it?", policy=POLICY, crop_policy=EXACT)

    assert result.answer == "A harbour." and result.status == "zoomed"
    assert (result.frame.resized_width, result.frame.resized_height) == (420, 280)
    zoom = result.rounds[0]
    assert zoom.region == pytest.approx((1000, 500, 1200, 700))
    assert (zoom.window.x0, zoom.window.y0, zoom.window.x1, zoom.window.y1) == (1000, 500, 1200, 700)

    first, second = model.seen
    overview = helpers.images_in(first)[0]
    assert overview["image"].size == (420, 280) == (overview["resized_width"], overview["resized_height"])
    crop = helpers.images_in(second)[1]
    # 200 x 200 is within the budget: smart_resize gives 196 x 196; pixels still name their original coordinates.
    assert crop["image"].size == (196, 196) == zoom.crop_size
    assert helpers.pixel_xy(crop["image"], 0, 0) == pytest.approx((1000, 500), abs=2)
    assert helpers.pixel_xy(crop["image"], 195, 195) == pytest.approx((1199, 699), abs=2)


def test_native_size_crop_is_pixel_exact(coordinate_png, helpers):
    # Original window [1500, 600, 1752, 852]: exact on the 0-1000 grid, 252 x 252 (a multiple of 28: sent unresized).
    box = to_model(np.array([[1500, 600], [1752, 852]]), _frame(), "relative1000").reshape(4).tolist()
    model = helpers.ScriptedModel({"Q": [format_tool_call(box), "done"]})
    result = run_chain(model, coordinate_png, "Q", policy=POLICY, crop_policy=EXACT, convention="relative1000")
    window = result.rounds[0].window
    crop = helpers.images_in(model.seen[1])[1]["image"]
    assert box == [500, 300, 584, 426]
    assert crop.size == window.size == (252, 252)
    for x, y in [(0, 0), (251, 0), (0, 251), (137, 211), (251, 251)]:
        assert helpers.pixel_xy(crop, x, y) == (window.x0 + x, window.y0 + y)


def _frame():
    return POLICY.frame(3000, 2000, task="uhr_vqa")


def test_conversation_follows_the_protocol(coordinate_png, helpers):
    model = helpers.ScriptedModel({"How many ships?": [format_tool_call([10, 10, 50, 50]), "3"]})
    run_chain(model, coordinate_png, "How many ships?", policy=POLICY)
    second = model.seen[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[0]["content"][0]["text"] == tool_system_prompt("absolute")
    assert second[1]["content"][1]["text"] == f"How many ships?\n{ZOOM_INSTRUCTION}"
    assert second[2]["content"][0]["text"] == format_tool_call([10, 10, 50, 50])
    assert second[3]["content"][1]["text"] == ZOOMED_PROMPT
    assert [p["type"] for p in second[3]["content"]] == ["image", "text"]


def test_direct_answer_without_zoom(coordinate_png, helpers):
    model = helpers.ScriptedModel({"Urban or rural?": ["  urban\n"]})
    result = run_chain(model, coordinate_png, "Urban or rural?", policy=POLICY)
    assert (result.answer, result.status, len(result.rounds), result.zooms) == ("urban", "answered", 1, [])
    assert result.rounds[0].call.status == "no_call"


def test_several_rounds_refer_to_the_overview(coordinate_png, helpers):
    replies = [format_tool_call([0, 0, 210, 140]), format_tool_call([105, 70, 140, 105]), "red"]
    model = helpers.ScriptedModel({"Color?": replies})
    result = run_chain(model, coordinate_png, "Color?", max_rounds=3, policy=POLICY, crop_policy=EXACT)
    assert result.status == "zoomed" and result.answer == "red"
    assert [r.window.size for r in result.zooms] == [(1500, 1000), (250, 250)]
    assert [len(helpers.images_in(c)) for c in model.seen] == [1, 2, 3]


def test_invalid_call_falls_back_to_the_overview(coordinate_png, helpers):
    model = helpers.ScriptedModel({"Shape?": ["<tool_call>{oops}</tool_call>", "round"]})
    result = run_chain(model, coordinate_png, "Shape?", policy=POLICY)
    assert (result.answer, result.status) == ("round", "fallback_invalid_call")
    assert result.rounds[0].call.status == "invalid" and result.rounds[1].call is None
    fallback = model.seen[1]
    assert [m["role"] for m in fallback] == ["user"]
    assert fallback[0]["content"][1]["text"] == "Shape?"
    assert helpers.images_in(fallback)[0]["image"].size == (420, 280)


def test_region_outside_the_image_falls_back(coordinate_png, helpers):
    model = helpers.ScriptedModel({"Q": [format_tool_call([500, 300, 600, 400]), "nothing"]})
    result = run_chain(model, coordinate_png, "Q", policy=POLICY)
    assert result.status == "fallback_outside_image" and result.answer == "nothing"


def test_overhanging_reversed_box_is_clipped_and_recorded(coordinate_png, helpers):
    model = helpers.ScriptedModel({"Q": [format_tool_call([500, 300, 350, 200]), "x"]})
    result = run_chain(model, coordinate_png, "Q", policy=POLICY, crop_policy=EXACT)
    zoom = result.rounds[0]
    assert zoom.call.status == "repaired" and "reversed" in zoom.call.detail
    assert zoom.clipped and zoom.region == pytest.approx((2500, 1428.57, 3000, 2000), abs=0.01)
    assert zoom.window.x1 == 3000 and zoom.window.y1 == 2000


def test_call_beyond_max_rounds_falls_back(coordinate_png, helpers):
    call = format_tool_call([10, 10, 40, 40])
    model = helpers.ScriptedModel({"Q": [call, call, "fine"]})
    result = run_chain(model, coordinate_png, "Q", max_rounds=1, policy=POLICY)
    assert result.status == "fallback_max_rounds" and len(result.zooms) == 1 and result.answer == "fine"


def test_batch_advances_chains_that_finish_at_different_rounds(coordinate_png, helpers):
    call = format_tool_call([10, 10, 60, 60])
    model = helpers.ScriptedModel(
        {
            "direct": ["yes"],
            "one zoom": [call, "two"],
            "two zooms": [call, call, "three"],
            "bad": ["<tool_call>[1, 2]</tool_call>", "four"],
        }
    )
    image = Image.open(coordinate_png)
    items = [
        ChainItem(coordinate_png, "direct"),
        (image, "one zoom"),
        ChainItem(coordinate_png, "two zooms"),
        ("" + coordinate_png, "bad"),
    ]
    results = run_chains(model, items, max_rounds=2, policy=POLICY)
    assert [r.answer for r in results] == ["yes", "two", "three", "four"]
    assert [r.status for r in results] == ["answered", "zoomed", "zoomed", "fallback_invalid_call"]
    assert model.batch_sizes == [4, 3, 1]
    assert json.loads(json.dumps([r.to_dict() for r in results]))[2]["rounds"][1]["window"] is not None


def _scripts() -> dict[str, list[str]]:
    call = format_tool_call([10, 10, 60, 60])
    return {
        "two zooms": [call, format_tool_call([100, 20, 200, 120]), "three"],
        "direct": ["yes"],
        "one zoom": [call, "two"],
        "bad": ["<tool_call>[1, 2]</tool_call>", "four"],
        "straight": ["five"],
    }


def test_a_finished_chain_hands_its_slot_to_the_next_item(coordinate_png, helpers):
    model = helpers.ScriptedModel(_scripts())
    results = run_chains(model, [(coordinate_png, q) for q in _scripts()], max_rounds=2, policy=POLICY, slots=2)
    # waiting for the slowest chain of each pair would take [2, 1, 1], [2, 2], [1]: six calls
    assert model.batch_sizes == [2, 2, 2, 2, 1]
    alone = [run_chain(helpers.ScriptedModel(_scripts()), coordinate_png, q, policy=POLICY) for q in _scripts()]
    assert [r.to_dict() for r in results] == [r.to_dict() for r in alone]
    assert [r.answer for r in results] == ["three", "yes", "two", "four", "five"]


def test_slots_must_be_positive(coordinate_png):
    with pytest.raises(ValueError, match="slots must be >= 1, got 0"):
        run_chains(lambda conversations: ["a"], [(coordinate_png, "Q")], policy=POLICY, slots=0)


def test_generate_must_return_one_text_per_conversation(coordinate_png):
    with pytest.raises(ValueError, match="returned 0 texts for 1 conversations"):
        run_chain(lambda conversations: [], coordinate_png, "Q", policy=POLICY)
    with pytest.raises(TypeError, match="for chain 0"):
        run_chain(lambda conversations: [None], coordinate_png, "Q", policy=POLICY)


def test_chains_on_one_file_decode_it_once(coordinate_png, helpers, monkeypatch):
    calls = []
    original = sources.load_image
    monkeypatch.setattr(sources, "load_image", lambda path: calls.append(path) or original(path))
    call = format_tool_call([10, 10, 60, 60])
    model = helpers.ScriptedModel({"Q1": [call, call, "done"], "Q2": [call, "done"]})
    results = run_chains(model, [(coordinate_png, "Q1"), (coordinate_png, "Q2")], max_rounds=2, policy=POLICY)
    assert [len(r.zooms) for r in results] == [2, 1]
    assert len(calls) == 1


def test_sources_are_closed_when_a_batch_fails(tmp_path, helpers, monkeypatch):
    tiled = tmp_path / "tiled.tif"
    write_pyramid(helpers.coordinate_image(300, 200), tiled, tile_size=64)
    closed = []
    original = sources.TiledTiffSource.close

    def close(self):
        closed.append(self.path)
        original(self)

    monkeypatch.setattr(sources.TiledTiffSource, "close", close)
    with pytest.raises(RuntimeError, match="model crashed"):
        run_chains(_crash, [(tiled, "Q")], policy=POLICY)
    assert closed == [tiled.resolve()]


def _crash(conversations):
    raise RuntimeError("model crashed")
