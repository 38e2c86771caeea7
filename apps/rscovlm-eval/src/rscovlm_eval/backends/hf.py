"""The `hf` backend: the checkpoint in this process, through rscovlm_model.Generator (left-padded batches, greedy).

It is a `TwoStepGenerate`: a batch's inputs may be prepared while the model answers the batch before."""

from __future__ import annotations

from rscovlm_eval.backends import TwoStepGenerate
from rscovlm_eval.config import EvalConfig
from rscovlm_eval.model_settings import ModelSpec


def load_generator(config: EvalConfig, spec: ModelSpec) -> TwoStepGenerate:
    """Load the checkpoint as a `generate(conversations) -> answers` callable (greedy by default)."""
    import torch
    from rscovlm_model import Generator, load_model, load_processor

    policy = spec.policy
    device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_model(
        config.model,
        family=spec.family,
        dtype=config.dtype,
        attn_implementation=config.attn_implementation,
        device=device,
    )
    processor = load_processor(config.model, policy=policy)
    return Generator(
        model,
        processor,
        policy,
        batch_size=config.generation.batch_size,
        max_new_tokens=config.generation.max_new_tokens,
    )
