"""Encoding: equality with the processor's own chat template path, label masks, image preparation, truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rscovlm_model.images as image_preparation
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from rs_resolution import ImageReadError, ResolutionPolicy, WindowOutsideImageError, load_image, resize_image
from rscovlm_model import IGNORE_INDEX, encode, prepare_images, truncate
from rscovlm_model.encoding import assistant_mask, expand_image_pads, reply_spans


def _with_pil_images(messages: list[dict]) -> list[dict]:
    """The same conversation with every image already loaded and resized, as the processor's own path needs it."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {**p, "image": resize_image(_load(p["image"]), p["resized_height"], p["resized_width"])}
                if p.get("type") == "image"
                else p
                for p in content
            ]
        out.append({**message, "content": content})
    return out


def _load(source: str | Image.Image) -> Image.Image:
    return source.convert("RGB") if isinstance(source, Image.Image) else load_image(source)


@pytest.mark.parametrize("name", ["caption", "zoom", "text_only"])
def test_input_ids_equal_the_processor_chat_template(tiny, name: str) -> None:
    messages = tiny.conversations()[name]
    sample = encode(messages, tiny.processor)
    reference = tiny.processor.apply_chat_template(
        _with_pil_images(messages), tokenize=True, return_dict=True, return_tensors="pt"
    )
    assert torch.equal(sample.input_ids, reference["input_ids"][0])
    assert torch.equal(sample.mm_token_type_ids, reference["mm_token_type_ids"][0])
    if name == "text_only":
        assert sample.pixel_values is None and "pixel_values" not in reference
    else:
        assert torch.equal(sample.pixel_values, reference["pixel_values"])
        assert torch.equal(sample.image_grid_thw, reference["image_grid_thw"])


def test_labels_cover_every_assistant_reply_and_its_end_token(tiny) -> None:
    messages = tiny.conversations()["zoom"]
    sample = encode(messages, tiny.processor)
    tool_call, answer = (m["content"][0]["text"] for m in messages if m["role"] == "assistant")
    assert tool_call.startswith("<tool_call>\n{") and tool_call.endswith("}\n</tool_call>")
    assert tiny.supervised_runs(sample) == [tool_call + "<|im_end|>", answer + "<|im_end|>"]
    kept = sample.labels != IGNORE_INDEX
    assert torch.equal(sample.labels[kept], sample.input_ids[kept])


def test_a_leading_newline_merges_with_the_assistant_header(tiny) -> None:
    """The case token matching cannot handle: the header's newline and the reply's share one token."""
    tokenizer = tiny.processor.tokenizer
    header = tokenizer.tokenize("<|im_start|>assistant\n")
    assert tokenizer.tokenize("<|im_start|>assistant\n\nyes")[: len(header)] != header


REPLIES = [
    "\n\nTwo leading newlines.",
    "\nOne leading newline, one trailing.\n",
    "Trailing blank lines.\n\n\n",
    "  two leading spaces and two trailing  ",
    " \n \n",
    "",
    '<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, 3, 4]}}\n</tool_call>',
    '\n\n<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [5, 6, 7, 8]}}\n</tool_call>\n\n',
    "Let me look closer.\n<tool_call>\n[1, 2, 3, 4]\n</tool_call>",
]


@pytest.mark.parametrize("first", REPLIES)
def test_labels_cover_replies_whatever_they_start_or_end_with(tiny, first: str) -> None:
    second = REPLIES[(REPLIES.index(first) + 1) % len(REPLIES)]
    messages = [
        {"role": "user", "content": [tiny.image_part(str(tiny.dior), 2, 2), {"type": "text", "text": "Look."}]},
        {"role": "assistant", "content": [{"type": "text", "text": first}]},
        {"role": "user", "content": "And now?"},
        {"role": "assistant", "content": second},
    ]
    sample = encode(messages, tiny.processor)
    reference = tiny.processor.apply_chat_template(
        _with_pil_images(messages), tokenize=True, return_dict=True, return_tensors="pt"
    )
    assert torch.equal(sample.input_ids, reference["input_ids"][0])
    runs = tiny.supervised_runs(sample)
    assert len(runs) == 2
    for run, reply in zip(runs, (first, second), strict=True):
        # a token merging the header's newline with the reply's leading newline is supervised whole
        assert run == reply + "<|im_end|>" or (reply.startswith("\n") and run == "\n" + reply + "<|im_end|>")


PIECES = ["\n", "\n\n", " ", "  ", "\t", "a", "roof", "12", ",", "{", "}", "é", "<tool_call>", "</tool_call>"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join))
def test_labels_cover_any_reply_exactly(tiny, reply: str) -> None:
    messages = [{"role": "user", "content": "Look."}, {"role": "assistant", "content": reply}]
    (run,) = tiny.supervised_runs(encode(messages, tiny.processor))
    # the reply and its end token; the header's newline too where BPE merged it with the reply's leading whitespace
    assert run == reply + "<|im_end|>" or (reply[:1].isspace() and run == "\n" + reply + "<|im_end|>")


def test_reply_spans_find_each_reply_with_its_end_token() -> None:
    text = (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n\nyes\n<|im_end|>\n"
        "<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\nopen"
    )
    replies = [text[start:end] for start, end in reply_spans(text)]
    assert replies == ["\nyes\n<|im_end|>", "<|im_end|>", "open"]
    assert reply_spans("<|im_start|>user\nassistant\n<|im_end|>\n") == []


def test_images_follow_the_parts_size_or_the_policy(tiny) -> None:
    f = tiny.factor
    given = prepare_images([{"role": "user", "content": [tiny.image_part(str(tiny.dota), 3, 5)]}], f)
    assert given[0].size == (5 * f, 3 * f)
    policy = ResolutionPolicy(factor=f, min_pixels=4 * f * f, max_pixels=16 * f * f)
    sized = prepare_images([{"role": "user", "content": [{"type": "image", "image": str(tiny.dota)}]}], f, policy)
    width, height = Image.open(tiny.dota).size
    assert sized[0].size[::-1] == policy.resized_size(height, width)
    # the pixels are exactly rs-resolution's load + resize
    reference = resize_image(load_image(tiny.dota), 3 * f, 5 * f)
    assert np.array_equal(np.asarray(given[0]), np.asarray(reference))


def test_a_windowed_part_shows_its_window_of_the_file(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tiny.factor
    window = [40, 20, 130, 110]
    part = {**tiny.image_part(str(tiny.dota), 2, 2), "window": window}
    decodes = []
    monkeypatch.setattr(image_preparation, "load_image", lambda path: decodes.append(path) or load_image(path))
    whole, cut = prepare_images([{"role": "user", "content": [tiny.image_part(str(tiny.dota), 3, 5), part]}], f)
    expected = Image.open(tiny.dota).convert("RGB").crop((40, 20, 130, 110)).resize((2 * f, 2 * f), Image.BICUBIC)
    assert np.array_equal(np.asarray(cut), np.asarray(expected)) and whole.size == (5 * f, 3 * f)
    assert decodes == [str(tiny.dota)]  # the file is decoded once for both parts
    outside = {**part, "window": [100, 100, 179, 120]}  # the image is 178 x 139
    with pytest.raises(WindowOutsideImageError, match=r"dota_P1888_178x139\.jpg: window \[100, 100, 179, 120\]"):
        prepare_images([{"role": "user", "content": [outside]}], f)


def test_bad_image_parts_get_errors_naming_the_part(tiny, tmp_path: Path) -> None:
    f = tiny.factor
    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[0\]: resized size .* not a positive multiple"):
        odd = {**tiny.image_part(str(tiny.dior), 2, 2), "resized_width": f + 1}
        prepare_images([{"role": "user", "content": [odd]}], f)
    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[1\]: no resized_height/resized_width"):
        unsized = {"type": "image", "image": str(tiny.dior)}
        prepare_images([{"role": "user", "content": [{"type": "text", "text": "x"}, unsized]}], f)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        encode([{"role": "user", "content": [tiny.image_part(str(broken), 2, 2)]}], tiny.processor)
    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[0\]: video parts are not supported"):
        prepare_images([{"role": "user", "content": [{"type": "video", "video": "a.mp4"}]}], f)


def _image_blocks_are_whole(sample, processor) -> bool:
    ids = sample.input_ids.tolist()
    start = processor.tokenizer.convert_tokens_to_ids("<|vision_start|>")
    end = processor.tokenizer.convert_tokens_to_ids("<|vision_end|>")
    merge = processor.image_processor.merge_size**2
    n_grid = 0 if sample.image_grid_thw is None else len(sample.image_grid_thw)
    n_tokens = 0 if sample.image_grid_thw is None else int(sample.image_grid_thw.prod(-1).sum()) // merge
    n_rows = 0 if sample.pixel_values is None else sample.pixel_values.shape[0]
    return (
        ids.count(start) == ids.count(end) == n_grid
        and int((sample.mm_token_type_ids == 1).sum()) == n_tokens
        and n_rows == n_tokens * merge
    )


def test_truncation_never_cuts_an_image_and_counts_what_it_drops(tiny) -> None:
    full = encode(tiny.conversations()["zoom"], tiny.processor)
    image_starts = [i for i, t in enumerate(full.mm_token_type_ids.tolist()) if t == 1]
    second_image_first_token = image_starts[16]  # the first image has 4x4 tokens
    for max_length in range(1, len(full) + 1):
        cut = truncate(full, max_length)
        assert len(cut) <= max_length
        assert _image_blocks_are_whole(cut, tiny.processor), max_length
        assert cut.truncated_tokens == len(full) - len(cut)
        assert torch.equal(cut.input_ids, full.input_ids[: len(cut)])
    inside_second = truncate(full, second_image_first_token + 2)
    assert inside_second.dropped_images == 1
    assert len(inside_second) == second_image_first_token - 1  # cut moved before <|vision_start|>
    assert encode(tiny.conversations()["zoom"], tiny.processor, max_length=len(full)).truncated_tokens == 0


def test_truncation_inside_text_keeps_all_images(tiny) -> None:
    full = encode(tiny.conversations()["caption"], tiny.processor)
    cut = truncate(full, len(full) - 3)
    assert cut.dropped_images == 0 and cut.truncated_tokens == 3
    assert torch.equal(cut.pixel_values, full.pixel_values)
    # the sequence ends "...reply<|im_end|>\n": the final newline is not supervised, the two before it are
    assert cut.num_label_tokens == full.num_label_tokens - 2


def test_prepared_images_equal_qwen_vl_utils_pixels() -> None:
    """qwen-vl-utils (the reference Qwen2.5-VL training code uses) resizes to the same pixels, both ways of sizing."""
    from qwen_vl_utils import process_vision_info

    data = Path(__file__).parent / "data"
    dota, dior = str(data / "dota_P1888_178x139.jpg"), str(data / "dior_00001_160.jpg")
    sized = [{"type": "image", "image": dota, "resized_height": 84, "resized_width": 112}]
    budget = {"min_pixels": 4 * 28 * 28, "max_pixels": 20 * 28 * 28}
    unsized = [{"type": "image", "image": dior, **budget}]
    messages = [{"role": "user", "content": [*sized, *unsized, {"type": "text", "text": "Compare."}]}]
    reference, _ = process_vision_info(messages)
    ours = prepare_images(messages, 28, ResolutionPolicy(factor=28, **budget))
    assert [image.size for image in ours] == [image.size for image in reference] == [(112, 84), (112, 112)]
    for mine, theirs in zip(ours, reference, strict=True):
        assert np.array_equal(np.asarray(mine), np.asarray(theirs))


def test_labels_are_refused_when_the_processor_tokenises_differently(tiny) -> None:
    text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>hi<|im_end|>\n"
    ids, mask = assistant_mask(text, tiny.processor.tokenizer)
    grid = torch.tensor([[1, 4, 4]])  # 16 patches, 4 tokens after the 2x2 merge
    pad = ids.index(tiny.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>"))
    processed = torch.tensor(ids[:pad] + ids[pad : pad + 1] * 4 + ids[pad + 1 :])
    expanded = expand_image_pads(mask, ids, processed, grid, tiny.processor)
    assert len(expanded) == len(ids) + 3 and not expanded.any()
    with pytest.raises(ValueError, match="processor's token ids differ"):
        expand_image_pads(mask, ids, torch.tensor(ids), grid, tiny.processor)
