"""A record with several images (a TEOChatlas-style time series) encodes every image at its own rendered size."""

from __future__ import annotations

import numpy as np
import torch
from rs_data import ImagePart, ImageRef, Message, Record, TextPart
from rs_data.render import RenderConfig, render
from rs_resolution import ResolutionPolicy
from rscovlm_model import FAMILY_SPECS, IGNORE_INDEX, encode
from rscovlm_model.collate import PaddingCollator


def _two_frames(tiny) -> Record:
    """Two frames (160x160 and 178x139 test images), `<video>` placed before the question, a box in the answer."""
    return Record(
        id="s2looking-0001",
        dataset="teochatlas",
        task="instruction",
        images=[
            ImageRef(path=str(tiny.dior), width=160, height=160),
            ImageRef(path=str(tiny.dota), width=178, height=139),
        ],
        messages=[
            Message(
                role="user",
                content=[ImagePart(image=0), ImagePart(image=1), TextPart(text="What changed between the images?")],
            ),
            Message(role="assistant", content=[TextPart(text="A building at [<poly>16,16,48,16,48,64,16,64</poly>].")]),
        ],
    )


def test_two_image_record_encodes_both_images(tiny) -> None:
    f = tiny.factor
    policy = ResolutionPolicy(factor=f, min_pixels=4 * f * f, max_pixels=20 * f * f)
    config = RenderConfig(convention=FAMILY_SPECS[tiny.family].convention)
    sample = render(_two_frames(tiny), policy, config, np.random.default_rng(0), load_images=True)
    sizes = [(frame.resized_height, frame.resized_width) for frame in sample.frames]
    assert len(set(sizes)) == 2  # each frame keeps its own size
    encoded = encode(sample.messages, tiny.processor)
    # one grid row per image: (1, height / patch, width / patch), with patch = factor / 2 (merged 2 x 2 later)
    assert encoded.image_grid_thw.tolist() == [[1, h // (f // 2), w // (f // 2)] for h, w in sizes]
    assert encoded.pixel_values.shape[0] == sum((h // (f // 2)) * (w // (f // 2)) for h, w in sizes)
    pad = tiny.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((encoded.input_ids == pad).sum()) == sum((h // f) * (w // f) for h, w in sizes)
    runs = torch.diff((encoded.mm_token_type_ids == 1).to(torch.int8), prepend=torch.zeros(1, dtype=torch.int8))
    assert int((runs == 1).sum()) == 2  # two separate blocks of visual tokens
    reference = tiny.processor.image_processor(images=sample.images, return_tensors="pt")
    assert torch.equal(encoded.pixel_values, reference["pixel_values"])
    supervised = encoded.input_ids[encoded.labels != IGNORE_INDEX]
    assert tiny.processor.tokenizer.decode(supervised) == sample.answer + "<|im_end|>"
    assert "<poly>" not in sample.answer
    # and it trains: the loss is finite and gradients reach the vision tower through both images
    batch = PaddingCollator(tiny.processor.tokenizer.pad_token_id)([encoded])
    tiny.model.zero_grad()
    loss = tiny.model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)
    visual = [p.grad for name, p in tiny.model.named_parameters() if "visual" in name and p.grad is not None]
    assert visual and any(float(g.abs().sum()) > 0 for g in visual)
    tiny.model.zero_grad()
