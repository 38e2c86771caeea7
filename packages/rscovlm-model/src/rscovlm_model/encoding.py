"""Turn one Qwen-style conversation into model inputs with a training label mask, truncated without cutting images."""

from __future__ import annotations

from typing import Any

import torch
from rs_resolution import ResolutionPolicy

from rscovlm_model.images import prepare_images
from rscovlm_model.sample import IGNORE_INDEX, EncodedSample

ASSISTANT_HEADER = "<|im_start|>assistant\n"
TURN_END = "<|im_end|>"
IMAGE_PAD = "<|image_pad|>"


def patch_factor(processor: Any) -> int:
    """Pixels per side of one LLM visual token for this processor (28 for Qwen2.5-VL, 32 for Qwen3-VL)."""
    image_processor = processor.image_processor
    return int(image_processor.patch_size * image_processor.merge_size)


def reply_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of the assistant replies in a rendered conversation, ``<|im_end|>`` included.

    A reply starts right after ``<|im_start|>assistant\\n`` and ends with the next ``<|im_end|>`` (or the text's end).
    Working on characters, not tokens, keeps this right whatever the reply starts with: BPE may merge the header's
    newline with a reply's leading newlines into one token.
    """
    spans = []
    header = text.find(ASSISTANT_HEADER)
    while header >= 0:
        start = header + len(ASSISTANT_HEADER)
        end = text.find(TURN_END, start)
        end = len(text) if end < 0 else end + len(TURN_END)
        spans.append((start, end))
        header = text.find(ASSISTANT_HEADER, end)
    return spans


def assistant_mask(text: str, tokenizer: Any) -> tuple[list[int], list[bool]]:
    """Tokenise the template ``text`` alone (one token per ``<|image_pad|>``): its ids, and which tokens hold reply
    characters.

    A token that straddles a reply's first character (the header newline merged with the reply's own leading
    newlines) is supervised, so no character of a reply goes unlearned.
    """
    tokens = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = reply_spans(text)
    mask, span = [], 0
    for start, end in tokens["offset_mapping"]:
        while span < len(spans) and spans[span][1] <= start:
            span += 1
        mask.append(span < len(spans) and start < spans[span][1] and end > spans[span][0])
    return tokens["input_ids"], mask


def expand_image_pads(
    mask: list[bool], text_ids: list[int], input_ids: torch.Tensor, grid: torch.Tensor | None, processor: Any
) -> torch.Tensor:
    """Carry a per-token mask of the template text onto the processor's ``input_ids``, where each ``<|image_pad|>``
    became as many tokens as its image has after the merge."""
    image_pad_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    repeats = torch.ones(len(text_ids), dtype=torch.long)
    pads = [i for i, token in enumerate(text_ids) if token == image_pad_id]
    if pads:
        repeats[pads] = grid.prod(dim=-1) // processor.image_processor.merge_size**2
    if not torch.equal(torch.repeat_interleave(torch.tensor(text_ids, dtype=torch.long), repeats), input_ids):
        raise ValueError("the processor's token ids differ from the chat-template text's: cannot place the labels")
    return torch.repeat_interleave(torch.tensor(mask, dtype=torch.bool), repeats)


def _image_spans(mm_token_type_ids: torch.Tensor) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of image tokens."""
    is_image = (mm_token_type_ids == 1).to(torch.int8)
    edges = torch.diff(is_image, prepend=is_image.new_zeros(1), append=is_image.new_zeros(1))
    starts = torch.nonzero(edges == 1).flatten().tolist()
    ends = torch.nonzero(edges == -1).flatten().tolist()
    return list(zip(starts, ends, strict=True))


def truncate(sample: EncodedSample, max_length: int) -> EncodedSample:
    """Cut ``sample`` to at most ``max_length`` tokens, never through an image.

    When the cut falls inside an image's ``<|vision_start|> … <|vision_end|>`` block the cut moves before the block
    and that image is dropped with every later one; the removed tokens and images are counted on the result.
    """
    if len(sample) <= max_length:
        return sample
    cut = max_length
    spans = _image_spans(sample.mm_token_type_ids)
    for start, end in spans:
        # the block is vision_start (start - 1) .. vision_end (end); keeping it needs cut > end
        if start - 1 < cut <= end:
            cut = start - 1
            break
    kept_images = sum(1 for _, end in spans if end < cut)
    pixel_values, grid = sample.pixel_values, sample.image_grid_thw
    if grid is not None:
        rows = int(grid[:kept_images].prod(dim=-1).sum())
        pixel_values = pixel_values[:rows] if kept_images else None
        grid = grid[:kept_images] if kept_images else None
    return EncodedSample(
        input_ids=sample.input_ids[:cut],
        labels=sample.labels[:cut],
        mm_token_type_ids=sample.mm_token_type_ids[:cut],
        pixel_values=pixel_values,
        image_grid_thw=grid,
        truncated_tokens=sample.truncated_tokens + len(sample) - cut,
        dropped_images=sample.dropped_images + len(spans) - kept_images,
    )


def encode(
    messages: list[dict[str, Any]],
    processor: Any,
    max_length: int | None = None,
    policy: ResolutionPolicy | None = None,
) -> EncodedSample:
    """Tokenise a conversation with the processor's chat template and mask everything but the assistant replies.

    Images are prepared through rs-resolution (``prepare_images``) to the size their part names, or that ``policy``
    gives when the part names none. Labels are ``-100`` except on assistant replies and their ``<|im_end|>``, across
    all turns. With ``max_length`` the result is truncated by ``truncate``.
    """
    images = prepare_images(messages, patch_factor(processor), policy)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    inputs = processor(text=[text], images=images or None, return_tensors="pt")
    input_ids = inputs["input_ids"][0]
    text_ids, text_mask = assistant_mask(text, processor.tokenizer)
    mask = expand_image_pads(text_mask, text_ids, input_ids, inputs.get("image_grid_thw"), processor)
    sample = EncodedSample(
        input_ids=input_ids,
        labels=input_ids.masked_fill(~mask, IGNORE_INDEX),
        mm_token_type_ids=inputs["mm_token_type_ids"][0],
        pixel_values=inputs.get("pixel_values"),
        image_grid_thw=inputs.get("image_grid_thw"),
    )
    return sample if max_length is None else truncate(sample, max_length)
