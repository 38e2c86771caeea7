"""rs-zoom's protocol through the real Qwen chat templates, and `Generator` as the chain runner's `generate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data import read_records
from rs_data.render import RenderConfig, render
from rs_resolution import ResolutionPolicy, from_model, load_image, resize_image, to_model
from rs_zoom import (
    TOOL_NAME,
    TOOL_SYSTEM_PROMPT,
    ZOOMED_PROMPT,
    BuildConfig,
    CropPolicy,
    build_zoom_dataset,
    format_tool_call,
    parse_tool_call,
    run_chains,
    tool_schema,
    tool_system_prompt,
    zoom_question,
)
from rscovlm_model import FAMILY_SPECS, Generator, encode, load_processor

VISION = "<|vision_start|><|image_pad|><|vision_end|>"


def test_zoom_chain_renders_turn_by_turn_in_the_qwen_template(tiny) -> None:
    convention = FAMILY_SPECS[tiny.family].convention
    messages = tiny.conversations()["zoom"]
    tool_call = messages[2]["content"][0]["text"]
    assert messages[0]["content"][0]["text"] == tool_system_prompt(convention)
    assert convention != "absolute" or tool_system_prompt(convention) == TOOL_SYSTEM_PROMPT
    expected = (
        f"<|im_start|>system\n{tool_system_prompt(convention)}<|im_end|>\n"
        f"<|im_start|>user\n{VISION}{zoom_question('How many planes are there?')}<|im_end|>\n"
        f"<|im_start|>assistant\n{tool_call}<|im_end|>\n"
        f"<|im_start|>user\n{VISION}{ZOOMED_PROMPT}<|im_end|>\n"
        "<|im_start|>assistant\n3<|im_end|>\n"
    )
    assert tiny.processor.apply_chat_template(messages, tokenize=False) == expected


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_tool_prompt_and_call_are_the_templates_own_tool_format(
    tiny_checkpoints: dict[str, Path], convention: str
) -> None:
    """Qwen3-VL's template writes `tools` and `tool_calls` itself (Qwen2.5-VL's has no tool branch): rs-zoom's system
    prompt and tool-call text are exactly what it writes."""
    processor = load_processor(tiny_checkpoints["qwen3_vl"])
    user = {"role": "user", "content": [{"type": "text", "text": "Where?"}]}
    system = {"role": "system", "content": [{"type": "text", "text": tool_system_prompt(convention)}]}
    declared = processor.apply_chat_template([user], tools=[tool_schema(convention)], tokenize=False)
    assert processor.apply_chat_template([system, user], tokenize=False) == declared
    box = [12, 40, 96, 120]
    as_text = {"role": "assistant", "content": format_tool_call(box)}
    as_call = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": TOOL_NAME, "arguments": {"bbox": box}}}],
    }
    assert processor.apply_chat_template([user, as_text], tokenize=False) == processor.apply_chat_template(
        [user, as_call], tokenize=False
    )


class ZoomThenAnswer:
    """A `generate` for the chain runner: round one replies with scripted zoom calls (the tiny model's own text is
    random), later rounds are the real model's greedy answers, kept free of tool-call tags."""

    def __init__(self, generator: Generator, boxes: list[list[int]]) -> None:
        self.generator = generator
        self.boxes = boxes
        tokenizer = generator.processor.tokenizer
        self.kwargs = {
            "max_new_tokens": 6,
            "bad_words_ids": [[tokenizer.convert_tokens_to_ids(t)] for t in ("<tool_call>", "</tool_call>")],
        }
        self.calls: list[list[list[dict]]] = []

    def __call__(self, conversations: list[list[dict]]) -> list[str]:
        self.calls.append(conversations)
        if len(self.calls) == 1:
            return [format_tool_call(box) for box in self.boxes]
        return self.generator(conversations, **self.kwargs)


def test_generator_drives_a_zoom_chain_end_to_end(tiny) -> None:
    spec = FAMILY_SPECS[tiny.family]
    f = spec.factor
    policy = ResolutionPolicy(factor=f, min_pixels=4 * f * f, max_pixels=16 * f * f)
    originals = [load_image(tiny.dota), load_image(tiny.dior)]
    regions = [[40, 30, 120, 100], [0, 0, 80, 60]]  # original pixels
    boxes = [
        to_model(np.reshape(region, (2, 2)), policy.frame(*image.size, task="uhr_vqa"), spec.convention)
        .reshape(4)
        .tolist()
        for image, region in zip(originals, regions, strict=True)
    ]
    model = ZoomThenAnswer(Generator(tiny.model, tiny.processor, policy), boxes)
    items = [(str(tiny.dota), "How many vehicles are there?"), (Image.open(tiny.dior), "What is in the corner?")]
    exact = CropPolicy(margin=0, min_size=1)
    results = run_chains(model, items, max_rounds=1, policy=policy, convention=spec.convention, crop_policy=exact)

    assert [r.status for r in results] == ["zoomed", "zoomed"]
    assert [len(r.rounds) for r in results] == [2, 2]
    assert len(model.calls) == 2 and len(model.calls[1]) == 2  # both second rounds in one batched call
    second_round = model.calls[1]
    for result, conversation, original, region in zip(results, second_round, originals, regions, strict=True):
        zoom = result.rounds[0]
        assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user"]
        # the crop reaches the model as an in-memory image at its resized size, cut from the original pixels
        crop = conversation[3]["content"][0]
        assert isinstance(crop["image"], Image.Image)
        assert crop["image"].size == (crop["resized_width"], crop["resized_height"]) == zoom.crop_size
        window = zoom.window
        step = original.width / result.frame.resized_width  # original pixels per overview pixel
        assert np.allclose([window.x0, window.y0, window.x1, window.y1], region, atol=step + 1)
        cut = original.crop((window.x0, window.y0, window.x1, window.y1))
        cut = resize_image(cut, crop["resized_height"], crop["resized_width"])
        assert np.array_equal(np.asarray(crop["image"]), np.asarray(cut))
    # the model saw overview and crop of both chains, and the answers are its own replies to those conversations
    grids = model.generator.prepare(second_round)["image_grid_thw"]
    patch = tiny.processor.image_processor.patch_size
    crop_grids = [[1, r.rounds[0].crop_size[1] // patch, r.rounds[0].crop_size[0] // patch] for r in results]
    assert grids.tolist()[1::2] == crop_grids
    replies = model.generator(second_round, **model.kwargs)
    assert [r.answer for r in results] == [reply.strip() for reply in replies]
    assert [r.rounds[1].text for r in results] == replies
    # passed straight to the runner, a Generator's first replies are its replies to the overview conversations
    direct = Generator(tiny.model, tiny.processor, policy, max_new_tokens=6)
    straight = run_chains(direct, items, max_rounds=1, policy=policy, convention=spec.convention, crop_policy=exact)
    assert [r.rounds[0].text for r in straight] == direct(model.calls[0])


# A real LRS-VQA row (VisionXLab/LRS-VQA, GLH-Bridge_381), its 8192-pixel image size and evidence box divided by 32.
LRS_VQA_ROW = {
    "question_id": "GLH-Bridge_381",
    "image": "test-704.png",
    "category": "object color",
    "text": "What color is the roof of the buildings near the largest bridge?\n "
    "Answer the question using a single word or phrase.",
    "ground_truth": "blue",
    "hbox": [61.03125, 156.96875, 67.15625, 160.0625],
    "image_size": [256, 256],
}


def test_a_built_zoom_record_trains_on_both_turns(tiny, tmp_path: Path) -> None:
    """rs-zoom's builder output, rendered by rs-data, encodes with its tool call and answer supervised."""
    spec = FAMILY_SPECS[tiny.family]
    f = spec.factor
    policy = ResolutionPolicy(factor=f, min_pixels=4 * f * f, max_pixels=16 * f * f)
    pixels = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / LRS_VQA_ROW["image"])
    (tmp_path / "rows.jsonl").write_text(json.dumps(LRS_VQA_ROW) + "\n")
    config = BuildConfig(policy=policy, convention=spec.convention, crop=CropPolicy(min_size=16))
    manifest = build_zoom_dataset(tmp_path / "rows.jsonl", tmp_path, tmp_path / "built", config)
    assert manifest.zoom_records == 1
    record = next(read_records(tmp_path / "built" / "records.jsonl"))
    sample = render(record, policy, RenderConfig(convention=spec.convention), np.random.default_rng(0))

    assert sample.messages[0]["content"][0]["text"] == tool_system_prompt(spec.convention)
    call_text = sample.messages[2]["content"][0]["text"]
    call = parse_tool_call(call_text)
    assert call.status == "ok"
    overview = sample.frames[0]
    back = from_model(np.reshape(call.bbox, (2, 2)), overview, spec.convention) * (256 / overview.resized_width)
    np.testing.assert_allclose(back.reshape(4), LRS_VQA_ROW["hbox"], atol=256 / overview.resized_width)
    encoded = encode(sample.messages, tiny.processor)
    assert tiny.supervised_runs(encoded) == [call_text + "<|im_end|>", "blue<|im_end|>"]
    assert len(encoded.image_grid_thw) == 2
