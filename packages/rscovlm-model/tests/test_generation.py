"""Batched, left-padded greedy generation equals generating one conversation at a time, on training's pixels."""

from __future__ import annotations

import torch
from PIL import Image
from rs_resolution import ResolutionPolicy
from rscovlm_model import Generator, encode


def _prompts(tiny) -> list[list[dict]]:
    convs = tiny.conversations()
    return [
        convs["caption"][:1],
        convs["zoom"][:-1],  # a second round: the crop follows the first tool call
        convs["text_only"][:1],
        [
            {
                "role": "user",
                "content": [tiny.image_part(Image.open(tiny.dior), 3, 2), {"type": "text", "text": "Scene?"}],
            }
        ],
    ]


def test_batched_generation_equals_one_by_one(tiny) -> None:
    prompts = _prompts(tiny)
    batched = Generator(tiny.model, tiny.processor, batch_size=4)(prompts, max_new_tokens=6)
    single = Generator(tiny.model, tiny.processor, batch_size=1)(prompts, max_new_tokens=6)
    assert batched == single
    assert len(batched) == 4 and any(batched)
    # greedy: the same call twice gives the same replies
    assert Generator(tiny.model, tiny.processor, batch_size=3)(prompts, max_new_tokens=6) == batched


def test_generation_inputs_are_left_padded_and_see_training_pixels(tiny) -> None:
    prompts = _prompts(tiny)
    generator = Generator(tiny.model, tiny.processor)
    inputs = generator.prepare(prompts[:3])
    pad = tiny.processor.tokenizer.pad_token_id
    assert (inputs["input_ids"][:, -1] != pad).all()
    assert (inputs["attention_mask"][:, -1] == 1).all() and (inputs["attention_mask"][:, 0] == 0).any()
    trained = [encode(p, tiny.processor) for p in prompts[:2]]
    assert torch.equal(inputs["pixel_values"], torch.cat([s.pixel_values for s in trained]))


def test_generation_sizes_unsized_images_through_the_policy(tiny) -> None:
    policy = ResolutionPolicy(factor=tiny.factor, min_pixels=4 * tiny.factor**2, max_pixels=9 * tiny.factor**2)
    prompt = [{"role": "user", "content": [{"type": "image", "image": str(tiny.dota)}, {"type": "text", "text": "?"}]}]
    inputs = Generator(tiny.model, tiny.processor, policy=policy).prepare([prompt])
    width, height = Image.open(tiny.dota).size
    rows, cols = (side // tiny.processor.image_processor.patch_size for side in policy.resized_size(height, width))
    assert inputs["image_grid_thw"].tolist() == [[1, rows, cols]]
