"""Batched generation from Qwen-style conversations: the ``generate`` callable of the zoom chain and the evaluation."""

from __future__ import annotations

from typing import Any

import torch
from rs_resolution import ResolutionPolicy

from rscovlm_model.encoding import patch_factor
from rscovlm_model.images import prepare_images


class Generator:
    """Generate replies for many conversations, ``batch_size`` at a time, left-padded, greedy by default.

    Images go through the same ``prepare_images`` path as training (the part's resized size, or ``policy``), so a
    model sees at inference exactly the pixels it was trained on. Each conversation is a prompt: the chat template
    adds the assistant header and the reply is decoded without special tokens (``<tool_call>`` text is kept).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        policy: ResolutionPolicy | None = None,
        batch_size: int = 8,
        max_new_tokens: int = 512,
    ) -> None:
        self.model = model
        self.processor = processor
        self.policy = policy
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens

    def prepare(self, conversations: list[list[dict[str, Any]]]) -> Any:
        """The model inputs of one batch: images read and resized, the processor run. It needs no model, so a
        caller may prepare the next batch in another thread while `answer` runs on this one."""
        factor = patch_factor(self.processor)
        texts = [
            self.processor.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations
        ]
        images = [image for c in conversations for image in prepare_images(c, factor, self.policy)]
        inputs = self.processor(
            text=texts, images=images or None, padding=True, padding_side="left", return_tensors="pt"
        )
        inputs = inputs.to(self.model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        return inputs

    @torch.inference_mode()
    def answer(
        self, inputs: Any, max_new_tokens: int | None = None, do_sample: bool = False, **generate_kwargs: Any
    ) -> list[str]:
        """The replies to one batch that `prepare` made."""
        tokenizer = self.processor.tokenizer
        generated = self.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens or self.max_new_tokens,
            do_sample=do_sample,
            pad_token_id=tokenizer.pad_token_id,
            **generate_kwargs,
        )
        return tokenizer.batch_decode(generated[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def __call__(
        self,
        conversations: list[list[dict[str, Any]]],
        max_new_tokens: int | None = None,
        do_sample: bool = False,
        **generate_kwargs: Any,
    ) -> list[str]:
        replies: list[str] = []
        for start in range(0, len(conversations), self.batch_size):
            inputs = self.prepare(conversations[start : start + self.batch_size])
            replies.extend(self.answer(inputs, max_new_tokens, do_sample, **generate_kwargs))
        return replies
