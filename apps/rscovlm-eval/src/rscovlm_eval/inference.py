"""Batched inference into the prediction cache, through a backend (see `rscovlm_eval.backends`) and rs_zoom's chain
runner.

Prompts and image sizes come from rs-data's renderer and rs-resolution's policy: the same code as training.
A sample whose image cannot be read, whose prompt cannot be built or whose request failed is cached with its error,
counted in the report and predicted again by the next run (unless `inference.retry_errors` is off).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rs_data import Record
from rs_data.render import RenderedSample, prompt_messages, render
from rs_detect_eval import BoxType
from rs_resolution import ImageReadError
from rs_zoom import run_chains
from tqdm import tqdm

from rscovlm_eval.backends import GenerateFn, RequestError
from rscovlm_eval.cache import PredictionCache
from rscovlm_eval.config import EvalConfig
from rscovlm_eval.fewshot import with_shots
from rscovlm_eval.model_settings import ModelSpec
from rscovlm_eval.registry import BENCHMARKS

TASKS = {b.task for b in BENCHMARKS.values()}
# an unreadable image or a refused request: that sample's fault, not the run's
_SAMPLE_ERRORS = (ImageReadError, OSError, RequestError)
_PROMPT_ERRORS = (ImageReadError, OSError, ValueError)


def prediction_settings(config: EvalConfig, spec: ModelSpec) -> dict[str, Any]:
    """Every run-wide setting that shapes a prediction, as JSON: the config's fingerprint, the model's conventions,
    the resolved resolution policy and the prompt rendering of every task (rs-data's templates included)."""
    settings = {
        **config.fingerprint(),
        "spec": spec.decisive(),
        "render": {t: spec.render_for(t).model_dump(mode="json") for t in sorted(TASKS)},
    }
    return json.loads(json.dumps(settings))


def sample_rng(seed: int, sample_id: str) -> np.random.Generator:
    """A generator that depends on the sample alone, so that a resumed or sharded run renders identically."""
    return np.random.default_rng([seed, zlib.crc32(sample_id.encode())])


def _entry(record: Record, **fields: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "dataset": record.dataset,
        "image": record.images[0].path if record.images else None,
        "target": record.annotation.model_dump(mode="json") if record.annotation is not None else None,
        "meta": record.meta,
        **fields,
    }


def _answer(
    generate: GenerateFn, samples: Sequence[Any], zoom: bool, config: EvalConfig, spec: ModelSpec
) -> list[dict[str, Any]]:
    """Predictions for rendered samples: plain generation, or the Zoom-in Chain with its rounds and status."""
    if not zoom:
        return [{"prediction": text} for text in generate([prompt_messages(s) for s in samples])]
    results = run_chains(
        generate,
        [zoom_item(s) for s in samples],
        max_rounds=config.zoom.max_rounds,
        policy=spec.policy,
        convention=spec.convention,
    )
    return [
        {
            "prediction": r.answer,
            "zoom": {"rounds": len(r.zooms), "status": r.status, "trajectory": r.to_dict()["rounds"]},
        }
        for r in results
    ]


def stripped(generate: GenerateFn) -> GenerateFn:
    """`generate` with every reply stripped of surrounding whitespace, whatever the backend: servers differ in what
    they strip (transformers serve strips, vLLM does not), and a chain's next round must see the same text."""

    def generate_stripped(conversations: list[list[dict[str, Any]]]) -> list[str]:
        return [text.strip() for text in generate(conversations)]

    return generate_stripped


def zoom_item(sample: RenderedSample) -> tuple[str, str]:
    """(image, question) of a rendered sample for rs_zoom.run_chains: the same question text as without zoom."""
    user = next(m for m in prompt_messages(sample) if m["role"] == "user")
    image = next(p["image"] for p in user["content"] if p["type"] == "image")
    question = "\n".join(p["text"] for p in user["content"] if p["type"] == "text")
    return image, question


def infer_benchmark(
    records: Sequence[Record],
    cache: PredictionCache,
    get_generate: Callable[[], GenerateFn],
    config: EvalConfig,
    spec: ModelSpec,
    zoom: bool,
    label: str,
    box_type: BoxType | None = None,
    context: Sequence[dict[str, Any]] = (),
    templates: dict[str, str] | None = None,
) -> None:
    """Predict every record and append each answer to the cache as soon as its batch is done; boxes are asked for
    as `box_type` (default: the run's box type of each task); `context` (in-context example turns, see `fewshot`)
    goes before every prompt; `templates` are the benchmark's own prompt templates."""
    policy = spec.policy
    renderings = {}
    size = config.generation.batch_size
    with tqdm(total=len(records), desc=label, unit="sample", disable=not config.progress) as bar:
        for start in range(0, len(records), size):
            batch = []
            for record in records[start : start + size]:
                if record.task not in renderings:
                    renderings[record.task] = spec.render_for(record.task, box_type, templates)
                rng = sample_rng(config.seed, record.id)
                try:
                    sample = render(record, policy, renderings[record.task], rng)
                    sample.messages = with_shots(sample.messages, list(context))
                    batch.append((record, sample))
                except _PROMPT_ERRORS as error:
                    cache.add(_entry(record, error=f"cannot build the prompt: {error}"))
                    bar.update()
            if not batch:
                continue
            generate = stripped(get_generate())
            try:
                answers = _answer(generate, [s for _, s in batch], zoom, config, spec)
            except _SAMPLE_ERRORS:
                answers = [_answer_one(generate, s, zoom, config, spec) for _, s in batch]
            for (record, sample), answer in zip(batch, answers, strict=True):
                frame = sample.frames[0].model_dump() if sample.frames else None
                cache.add(_entry(record, frame=frame, **answer))
                bar.update()


def _answer_one(generate: GenerateFn, sample: Any, zoom: bool, config: EvalConfig, spec: ModelSpec) -> dict[str, Any]:
    """One sample alone, after its batch failed: the answer, or the error that belongs to this sample."""
    try:
        return _answer(generate, [sample], zoom, config, spec)[0]
    except _SAMPLE_ERRORS as error:
        return {"error": f"generation failed: {error}"}
