"""Batched inference into the prediction cache, through a backend (see `rscovlm_eval.backends`) and rs_zoom's chain
runner.

Prompts and image sizes come from rs-data's renderer and rs-resolution's policy: the same code as training.
A sample whose image cannot be read, whose prompt cannot be built or whose request failed is cached with its error,
counted in the report and predicted again by the next run (unless `inference.retry_errors` is off).
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from functools import partial
from itertools import chain, islice
from typing import Any

import numpy as np
from rs_data import Record
from rs_data.render import RenderedSample, prompt_messages, render
from rs_detect_eval import BoxType
from rs_resolution import ImageReadError
from rs_zoom.chain import ChainPool, ChainResult, PreparedChain
from tqdm import tqdm

from rscovlm_eval.backends import ConcurrentGenerate, GenerateFn, RequestError, TwoStepGenerate
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


def _stripped(replies: Sequence[str]) -> list[str]:
    """Every reply stripped of surrounding whitespace, whatever the backend: servers differ in what they strip
    (transformers serve strips, vLLM does not), and a chain's next round must see the same text."""
    return [text.strip() for text in replies]


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
    """Predict every record and append each answer to the cache as soon as it is known; boxes are asked for as
    `box_type` (default: the run's box type of each task); `context` (in-context example turns, see `fewshot`) goes
    before every prompt; `templates` are the benchmark's own prompt templates.

    Plain prompts go `generation.batch_size` at a time (the next batch prepared while the model answers), or on a
    concurrent backend one request each, `inference.concurrency` in flight. Zoom-in Chains run
    `generation.batch_size` at once (on a concurrent backend each sends its next request as soon as its reply
    arrives), and the slot of a finished chain goes to the next sample at once; the next chains' images are read
    (and their overviews made) by `inference.image_readers` background threads while the running chains wait for
    the model.
    """
    with tqdm(total=len(records), desc=label, unit="sample", disable=not config.progress) as bar:

        def store(record: Record, sample: RenderedSample, answer: dict[str, Any]) -> None:
            frame = sample.frames[0].model_dump() if sample.frames else None
            cache.add(_entry(record, frame=frame, **answer))
            bar.update()

        def prompt_failed(record: Record, error: Exception) -> None:
            cache.add(_entry(record, error=f"cannot build the prompt: {error}"))
            bar.update()

        prompts = _prompts(records, prompt_failed, config, spec, box_type, context, templates)
        if zoom:
            _infer_chains(prompts, store, get_generate, config, spec)
        else:
            _infer_plain(prompts, store, get_generate, config.generation.batch_size)


Prompt = tuple[Record, RenderedSample]


def _prompts(
    records: Sequence[Record],
    failed: Callable[[Record, Exception], None],
    config: EvalConfig,
    spec: ModelSpec,
    box_type: BoxType | None,
    context: Sequence[dict[str, Any]],
    templates: dict[str, str] | None,
) -> Iterator[Prompt]:
    """Each record with its rendered sample, in order; a record whose prompt cannot be built goes to `failed`."""
    renderings = {}
    for record in records:
        if record.task not in renderings:
            renderings[record.task] = spec.render_for(record.task, box_type, templates)
        try:
            sample = render(record, spec.policy, renderings[record.task], sample_rng(config.seed, record.id))
            sample.messages = with_shots(sample.messages, list(context))
        except _PROMPT_ERRORS as error:
            failed(record, error)
            continue
        yield record, sample


Store = Callable[[Record, RenderedSample, dict[str, Any]], None]


def _replies(
    generate: GenerateFn, conversations: list[list[dict[str, Any]]], whole: Callable[[], list[str]] | None = None
) -> list[str | Exception]:
    """The reply to each conversation, from `whole()` when given (the batch answered at once), else from `generate`;
    when the batch fails, each conversation alone, a failing one giving its error (an error that belongs to that
    sample)."""
    try:
        return list(_stripped(whole() if whole is not None else generate(conversations)))
    except _SAMPLE_ERRORS as error:
        if len(conversations) == 1:
            return [error]
    replies: list[str | Exception] = []
    for conversation in conversations:
        try:
            replies.extend(_stripped(generate([conversation])))
        except _SAMPLE_ERRORS as error:
            replies.append(error)
    return replies


def _failure(error: Exception) -> dict[str, Any]:
    return {"error": f"generation failed: {error}"}


def _outcome(reply: str | Exception) -> dict[str, Any]:
    """What to cache for a plain prompt's reply, or for the error of its request."""
    return _failure(reply) if isinstance(reply, Exception) else {"prediction": reply}


def _reply_of(request: Future[str]) -> str | Exception:
    """The stripped reply of one finished request, or the error that belongs to its sample."""
    try:
        return _stripped([request.result()])[0]
    except _SAMPLE_ERRORS as error:
        return error


def _infer_plain(prompts: Iterator[Prompt], store: Store, get_generate: Callable[[], GenerateFn], size: int) -> None:
    """Plain prompts: in flight one by one on a concurrent backend (`openai`), else in batches of `size`."""
    first = next(prompts, None)
    if first is None:  # nothing to predict: the model is not loaded
        return
    prompts = chain([first], prompts)
    generate = get_generate()
    if isinstance(generate, ConcurrentGenerate):
        _infer_in_flight(prompts, store, generate)
    else:
        _infer_batches(prompts, store, generate, size)


def _infer_batches(prompts: Iterator[Prompt], store: Store, generate: GenerateFn, size: int) -> None:
    """`size` prompts at a time; with a two-step backend (`hf`) the next batch is prepared (images read, the
    processor run) in a background thread while the model answers this one."""
    batches = iter(lambda: list(islice(prompts, size)), [])
    batch = next(batches, None)
    two_step = isinstance(generate, TwoStepGenerate)
    with ThreadPoolExecutor(1) as preparer:
        prepared = preparer.submit(generate.prepare, _conversations(batch)) if two_step else None
        while batch is not None:
            following = next(batches, None)
            whole = None
            if prepared is not None:
                whole = partial(_answer_prepared, generate, prepared)
                prepared = preparer.submit(generate.prepare, _conversations(following)) if following else None
            replies = _replies(generate, _conversations(batch), whole)
            for (record, sample), reply in zip(batch, replies, strict=True):
                store(record, sample, _outcome(reply))
            batch = following


def _infer_in_flight(prompts: Iterator[Prompt], store: Store, generate: ConcurrentGenerate) -> None:
    """One request a prompt, `generate.concurrency` in flight; each answer is stored as it arrives, and the next
    prompt's request takes its place."""
    flying: dict[Future[str], Prompt] = {}
    with ThreadPoolExecutor(generate.concurrency) as requests:
        for prompt in prompts:
            if len(flying) == generate.concurrency:
                _store_answered(flying, store, wait(flying, return_when=FIRST_COMPLETED).done)
            flying[requests.submit(generate.complete, prompt_messages(prompt[1]))] = prompt
        _store_answered(flying, store, as_completed(list(flying)))


def _store_answered(flying: dict[Future[str], Prompt], store: Store, done: Iterable[Future[str]]) -> None:
    """Store the answer (or the sample's error) of each request in `done`, and forget it."""
    for future in done:
        store(*flying.pop(future), _outcome(_reply_of(future)))


def _conversations(batch: list[Prompt]) -> list[list[dict[str, Any]]]:
    return [prompt_messages(sample) for _, sample in batch]


def _answer_prepared(generate: TwoStepGenerate, prepared: Future[Any]) -> list[str]:
    """The answers to a batch prepared in the background (its preparation's error, e.g. an unreadable image, is
    raised here)."""
    return generate.answer(prepared.result())


def _infer_chains(
    prompts: Iterator[Prompt], store: Store, get_generate: Callable[[], GenerateFn], config: EvalConfig, spec: ModelSpec
) -> None:
    """A pool of `batch_size` running chains; every chain that finishes (or whose request failed) is stored and
    replaced by the next sample's chain, prepared ahead: as many chains as the larger of `batch_size` and
    `image_readers` are read ahead, so that every reader has an image to decode. Each round generates for all
    running chains at once; on a concurrent backend (`openai`) each chain instead sends its next request as soon as
    its own reply arrives."""
    with (
        ChainPool(config.zoom.max_rounds, spec.policy, spec.convention) as pool,
        ThreadPoolExecutor(config.inference.image_readers) as reader,
    ):
        chains = _Chains(pool, prompts, store, reader, config)
        chains.fill()
        if not pool:
            return
        generate = get_generate()
        if isinstance(generate, ConcurrentGenerate):
            _chains_in_flight(chains, generate)
            return
        while pool:
            chains.read_ahead()  # read while the model works
            keys, conversations = zip(*pool.pending(), strict=True)
            for key, reply in zip(keys, _replies(generate, list(conversations)), strict=True):
                chains.advance(key, reply)
            chains.fill()


def _chains_in_flight(chains: _Chains, generate: ConcurrentGenerate) -> None:
    """Each running chain with one request in flight, `generate.concurrency` at once: a reply advances its chain
    at once, and a chain that goes on sends its next request."""
    flying: dict[Future[str], str] = {}
    with ThreadPoolExecutor(generate.concurrency) as requests:

        def send(keys: Iterable[str]) -> None:
            for key in keys:
                flying[requests.submit(generate.complete, chains.pool.conversation(key))] = key

        send(key for key, _ in chains.pool.pending())
        while flying:
            chains.read_ahead()
            for future in wait(flying, return_when=FIRST_COMPLETED).done:
                key = flying.pop(future)
                if chains.advance(key, _reply_of(future)):
                    send([key])
            send(chains.fill())


class _Chains:
    """The running chains of `_infer_chains`, with those read ahead: starts them, advances them, stores them."""

    def __init__(
        self, pool: ChainPool, prompts: Iterator[Prompt], store: Store, reader: ThreadPoolExecutor, config: EvalConfig
    ) -> None:
        self.pool, self.prompts, self.store, self.reader = pool, prompts, store, reader
        self.size = config.generation.batch_size
        self.lead = max(self.size, config.inference.image_readers)
        self.ahead: deque[tuple[Prompt, Future[PreparedChain]]] = deque()
        self.running: dict[str, Prompt] = {}

    def read_ahead(self) -> bool:
        """Queue the preparation of the next prompts' chains until `lead` are ahead; whether any is ahead."""
        while len(self.ahead) < self.lead and (prompt := next(self.prompts, None)) is not None:
            self.ahead.append((prompt, self.reader.submit(self.pool.prepare, zoom_item(prompt[1]))))
        return bool(self.ahead)

    def fill(self) -> list[str]:
        """Start prepared chains until `size` run (an unreadable image is stored as its sample's error); the keys of
        those started."""
        started = []
        while len(self.pool) < self.size and (self.ahead or self.read_ahead()):
            prompt, prepared = self.ahead.popleft()
            try:
                self.pool.start(prompt[0].id, prepared.result())
            except _SAMPLE_ERRORS as error:
                self.store(*prompt, _unreadable(error))
                continue
            self.running[prompt[0].id] = prompt
            started.append(prompt[0].id)
        return started

    def advance(self, key: str, reply: str | Exception) -> bool:
        """Give one chain its reply; whether it goes on (else it is stored, finished or failed)."""
        outcome = _advance(self.pool, key, reply)
        if outcome is not None:
            self.store(*self.running.pop(key), outcome)
        return outcome is None


def _advance(pool: ChainPool, key: str, reply: str | Exception) -> dict[str, Any] | None:
    """Give one chain its reply: what to cache once the chain finished or failed, None while it goes on."""
    if isinstance(reply, Exception):
        pool.discard(key)
        return _failure(reply)
    try:
        result = pool.answer(key, reply)
    except _SAMPLE_ERRORS as error:  # the crop could not be read
        pool.discard(key)
        return _unreadable(error)
    return None if result is None else _chain_answer(result)


def _unreadable(error: Exception) -> dict[str, Any]:
    return {"error": f"cannot read the image: {error}"}


def _chain_answer(result: ChainResult) -> dict[str, Any]:
    trajectory = {"rounds": len(result.zooms), "status": result.status, "trajectory": result.to_dict()["rounds"]}
    return {"prediction": result.answer, "zoom": trajectory}
