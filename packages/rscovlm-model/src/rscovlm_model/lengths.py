"""Token count of a conversation without decoding any image: the rendered text through the tokenizer, plus the
visual tokens each image part's size gives."""

from __future__ import annotations

from typing import Any

from rscovlm_model.encoding import patch_factor
from rscovlm_model.images import iter_image_parts


def estimate_length(messages: list[dict[str, Any]], processor: Any) -> int:
    """Tokens ``encode`` gives ``messages`` before truncation, from the image parts' ``resized_height`` /
    ``resized_width`` (rs-data's renderer writes them from the record's header-only sizes); no pixel is read.

    Exact when the image files have the sizes their records state; the processor would otherwise resize differently.
    """
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    ids = processor.tokenizer(text, add_special_tokens=False)["input_ids"]
    factor = patch_factor(processor)
    length = len(ids)
    for where, part in iter_image_parts(messages):
        if "resized_height" not in part or "resized_width" not in part:
            raise ValueError(f"{where}: an image part needs resized_height and resized_width to estimate its tokens")
        length += (int(part["resized_height"]) // factor) * (int(part["resized_width"]) // factor) - 1
    return length
