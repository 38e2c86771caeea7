"""Inference backends: each turns Qwen-style conversations into greedy answers, `generate(conversations) -> texts`.

- `hf`: the checkpoint loaded in this process (rscovlm_model.Generator, batched `generate`).
- `openai`: any OpenAI-compatible chat-completions server (`vllm serve`, SGLang, LMDeploy, `transformers serve`).

Both get the same conversations and the same pixels: images are prepared by rs-resolution with the run's settings
before they reach the model or the server, so nothing resizes them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rscovlm_eval.config import EvalConfig
    from rscovlm_eval.model_settings import ModelSpec

Conversations = list[list[dict[str, Any]]]
GenerateFn = Callable[[Conversations], list[str]]


@runtime_checkable
class TwoStepGenerate(Protocol):
    """A `generate` that also answers in two steps: `prepare` (images read and processed, no model) and `answer`;
    the evaluation prepares the next batch in a background thread while the model answers this one."""

    def __call__(self, conversations: Conversations) -> list[str]: ...

    def prepare(self, conversations: Conversations) -> Any: ...

    def answer(self, prepared: Any) -> list[str]: ...


@runtime_checkable
class ConcurrentGenerate(Protocol):
    """A `generate` that answers each conversation in a request of its own (`complete`), `concurrency` at once; the
    evaluation keeps that many requests in flight, each answer making room for the next request (the next plain
    prompt, or the next round of the Zoom-in Chain it answered)."""

    concurrency: int

    def __call__(self, conversations: Conversations) -> list[str]: ...

    def complete(self, conversation: list[dict[str, Any]]) -> str: ...


class BackendError(RuntimeError):
    """The backend cannot be used at all (server unreachable, unknown model): the run stops, the cache is kept."""


class RequestError(RuntimeError):
    """One request failed after its retries: the error of that sample, cached and retried on the next run."""


def describe_backend(config: EvalConfig) -> dict[str, Any]:
    """What run.json records about the backend (the server's own model id is added when it is known)."""
    inference = config.inference
    if inference.backend == "hf":
        return {"kind": "hf", "model": str(config.model), "weights": weights_digest(Path(config.model))}
    return {"kind": "openai", "base_url": inference.base_url, "model": inference.model}


# the fields of a backend record that decide its answers (`model` of openai is only the name asked for)
IDENTITY = ("kind", "model", "weights", "base_url", "served_model")
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth"}
_WINDOWS, _WINDOW_BYTES = 8, 1 << 20


def backend_identity(backend: dict[str, Any]) -> dict[str, Any]:
    """The part of a recorded backend that a cache of its answers depends on."""
    fields = IDENTITY if backend.get("kind") == "hf" else tuple(f for f in IDENTITY if f != "model")
    return {f: backend[f] for f in fields if f in backend}


def weights_digest(checkpoint: Path) -> str | None:
    """A digest of a checkpoint's weight files that tells apart two checkpoints saved to one path: each file's name
    and size, and its bytes (whole up to 8 MiB, else 8 evenly spaced 1 MiB windows); None without weight files."""
    files = sorted(p for p in checkpoint.iterdir() if p.suffix in _WEIGHT_SUFFIXES) if checkpoint.is_dir() else []
    if not files:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= _WINDOWS * _WINDOW_BYTES:
                digest.update(handle.read())
                continue
            for window in range(_WINDOWS):
                handle.seek((size - _WINDOW_BYTES) * window // (_WINDOWS - 1))
                digest.update(handle.read(_WINDOW_BYTES))
    return digest.hexdigest()


def load_backend(config: EvalConfig, spec: ModelSpec) -> GenerateFn:
    """The configured backend as a `generate` callable (greedy, the run's max_new_tokens)."""
    if config.inference.backend == "hf":
        from rscovlm_eval.backends.hf import load_generator

        return load_generator(config, spec)
    from rscovlm_eval.backends.openai import connect

    return connect(config, spec)
