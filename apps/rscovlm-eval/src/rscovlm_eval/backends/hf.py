"""The `hf` backend: the checkpoint in this process, through rscovlm_model.Generator (left-padded batches)."""

from __future__ import annotations

from functools import partial

from rscovlm_eval.backends import GenerateFn
from rscovlm_eval.config import EvalConfig
from rscovlm_eval.model_settings import ModelSpec


def load_generator(config: EvalConfig, spec: ModelSpec) -> GenerateFn:
    """Load the checkpoint and wrap it as a `generate(conversations) -> answers` callable."""
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
    generator = Generator(
        model,
        processor,
        policy,
        batch_size=config.generation.batch_size,
        max_new_tokens=config.generation.max_new_tokens,
    )
    return partial(generator, do_sample=False)
