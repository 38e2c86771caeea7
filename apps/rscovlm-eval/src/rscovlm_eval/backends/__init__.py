"""Inference backends: each turns Qwen-style conversations into greedy answers, `generate(conversations) -> texts`.

- `hf`: the checkpoint loaded in this process (rscovlm_model.Generator, batched `generate`).
- `openai`: any OpenAI-compatible chat-completions server (`vllm serve`, SGLang, LMDeploy, `transformers serve`).

Both get the same conversations and the same pixels: images are prepared by rs-resolution with the run's settings
before they reach the model or the server, so nothing resizes them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rscovlm_eval.config import EvalConfig
    from rscovlm_eval.model_settings import ModelSpec

GenerateFn = Callable[[list[list[dict[str, Any]]]], list[str]]


class BackendError(RuntimeError):
    """The backend cannot be used at all (server unreachable, unknown model): the run stops, the cache is kept."""


class RequestError(RuntimeError):
    """One request failed after its retries: the error of that sample, cached and retried on the next run."""


def describe_backend(config: EvalConfig) -> dict[str, Any]:
    """What run.json records about the backend (the server's own model id is added when it is known)."""
    inference = config.inference
    if inference.backend == "hf":
        return {"kind": "hf", "model": str(config.model)}
    return {"kind": "openai", "base_url": inference.base_url, "model": inference.model}


def load_backend(config: EvalConfig, spec: ModelSpec) -> GenerateFn:
    """The configured backend as a `generate` callable (greedy, the run's max_new_tokens)."""
    if config.inference.backend == "hf":
        from rscovlm_eval.backends.hf import load_generator

        return load_generator(config, spec)
    from rscovlm_eval.backends.openai import connect

    return connect(config, spec)
