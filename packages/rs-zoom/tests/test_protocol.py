import json

import pytest
from rs_zoom import (
    TOOL_SYSTEM_PROMPT,
    ZOOM_INSTRUCTION,
    format_tool_call,
    parse_tool_call,
    tool_system_prompt,
    zoom_question,
)


def test_tool_call_text_is_the_documented_form():
    assert format_tool_call([12, 34, 560, 780]) == (
        '<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [12, 34, 560, 780]}}\n</tool_call>'
    )


@pytest.mark.parametrize("bbox", [(0, 0, 1, 1), (12, 34, 560, 780), (0.125, 0.5, 0.75, 1.0), (3.0, 4.0, 5.0, 6.0)])
def test_round_trip(bbox):
    parsed = parse_tool_call(format_tool_call(bbox))
    assert parsed.status == "ok" and parsed.detail == ""
    assert parsed.bbox == tuple(float(v) for v in bbox)


def test_round_trip_inside_a_longer_answer():
    text = "I need a closer look.\n" + format_tool_call([1, 2, 3, 4]) + "\n"
    assert parse_tool_call(text).bbox == (1, 2, 3, 4)


def test_format_rejects_wrong_length_and_non_finite():
    with pytest.raises(ValueError, match="4 numbers"):
        format_tool_call([1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        format_tool_call([1, 2, float("nan"), 4])


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [10, 20, 30, 40]}}', "missing closing tag"),
        ('{"name": "image_zoom_in", "arguments": {"bbox": [10, 20, 30, 40]}}\n</tool_call>', "missing opening tag"),
        ('{"name": "image_zoom_in", "arguments": {"bbox": [10, 20, 30, 40]}}', "missing tags"),
        ("<tool_call>{'name': 'image_zoom_in', 'arguments': {'bbox': [10, 20, 30, 40],}}</tool_call>", "lenient JSON"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox_2d": [10, 20, 30, 40]}}</tool_call>', "bbox_2d"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": ["10", "20", "30", "40"]}}', "strings"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [[10, 20, 30, 40]]}}</tool_call>', "nested"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [30, 40, 10, 20]}}</tool_call>', "reversed"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": "{\\"bbox\\": [10, 20, 30, 40]}"}</tool_call>', "string"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [10, 20, 30, 40]</tool_call>', "malformed JSON"),
        ("<tool_call>\n  [10, 20, 30, 40]  \n</tool_call>", "bare box"),
    ],
)
def test_repairable_calls(text, fix):
    parsed = parse_tool_call(text)
    assert parsed.status == "repaired"
    assert fix in parsed.detail
    assert parsed.bbox == (10, 20, 30, 40)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<tool_call>\nnot json at all\n</tool_call>", "not valid JSON"),
        ('<tool_call>{"name": "image_rotate", "arguments": {"bbox": [1, 2, 3, 4]}}</tool_call>', "unknown tool"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"region": [1, 2, 3, 4]}}</tool_call>', "no `bbox`"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, 3]}}</tool_call>', "four finite"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, "x", 4]}}</tool_call>', "four finite"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, true, 4]}}</tool_call>', "four finite"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, NaN, 4]}}</tool_call>', "four finite"),
        ('<tool_call>{"name": "image_zoom_in", "arguments": {"bbox": "1,2,3,4"}}</tool_call>', "four finite"),
        ("<tool_call></tool_call>", "not valid JSON"),
    ],
)
def test_unreadable_calls_are_invalid_with_a_reason(text, reason):
    parsed = parse_tool_call(text)
    assert parsed.status == "invalid" and parsed.bbox is None and not parsed.usable
    assert reason in parsed.detail


@pytest.mark.parametrize(
    "text",
    [
        "Blue",
        "",
        "  \n",
        "The roof is {blue}.",
        "There are 3 bridges [north side].",
        '[{"bbox_2d": [1, 2, 3, 4], "label": "ship"}]',
    ],
)
def test_plain_answers_are_no_call(text):
    parsed = parse_tool_call(text)
    assert parsed.status == "no_call" and parsed.bbox is None


def test_system_prompt_declares_the_tool_in_qwen_layout():
    prompt = tool_system_prompt("relative1000")
    tools = prompt.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0]
    schema = json.loads(tools)
    assert schema["type"] == "function"
    assert schema["function"]["name"] == "image_zoom_in"
    assert schema["function"]["parameters"]["required"] == ["bbox"]
    assert "0-1000" in schema["function"]["parameters"]["properties"]["bbox"]["description"]
    assert prompt.startswith("# Tools\n\nYou may call one or more functions")
    assert prompt.endswith('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')
    assert tool_system_prompt("absolute") == TOOL_SYSTEM_PROMPT
    with pytest.raises(ValueError, match="convention"):
        tool_system_prompt("pixels")


def test_zoom_question_appends_the_instruction():
    assert zoom_question("What color is the roof?\n") == f"What color is the roof?\n{ZOOM_INSTRUCTION}"
