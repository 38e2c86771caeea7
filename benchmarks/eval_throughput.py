"""Evaluation throughput on the tiny Qwen2.5-VL: samples/s of rscovlm-eval's inference path at batch 1 vs batch N.

Times `infer_benchmark` (rendering, image preparation, generation, the prediction cache) on generated VQA samples,
without model loading or scoring:

- plain prompts, `hf` backend, batch 1 (the baseline) and batch N, the next batch prepared (images read, the
  processor run) in the background while the model answers; the same again with each batch prepared in turn (the
  baseline of that preparation ahead), and the gain;
- Zoom-in Chains, `hf` backend, batch 1 and batch N. A random model never writes a tool call, so every other chain's
  first reply is a scripted zoom into the top-left quarter (all other replies come from the model): chains of one
  batch end after different numbers of rounds, as real ones do. The next chains' images are read by
  `--image-readers` threads while the model answers; the same again with one reader, and with the images read in
  turn instead (the baseline of that read-ahead), and the gains, each at its faster thread count;
- plain prompts through the `openai` backend against `transformers serve` on 127.0.0.1, 1 and 8 requests in flight
  (`--no-server` skips it).

Each `hf` setting runs twice with torch on 1 thread and twice on all of them, and the fastest is reported (with the
thread count): on few cores, a torch that leaves one free lets the background reading overlap the model. Each ratio
is against the fastest batch-1 setting of its kind, so the baseline is at its best. Each setting's predictions (and
zoom trajectories) must equal the batch-1 `hf` ones; the script says when they do not. For plain prompts it also
prints where a sample's time goes, and the most batching could gain with preparing wholly hidden.

    uv run --no-sync python benchmarks/eval_throughput.py [--samples 32] [--batch 8] [--max-new-tokens 16]
        [--image-readers 4]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import rscovlm_eval.inference
import torch
from PIL import Image
from rs_data import ImageRef, Record, VQAAnnotation
from rs_zoom import format_tool_call
from rscovlm_eval.backends import GenerateFn, load_backend
from rscovlm_eval.cache import PredictionCache
from rscovlm_eval.config import EvalConfig, InferenceConfig, load_config
from rscovlm_eval.inference import infer_benchmark
from rscovlm_eval.model_settings import model_spec


def make_records(root: Path, count: int, task: str, size: tuple[int, int]) -> list[Record]:
    """`count` VQA samples on generated images of `size` (width, height), questions of slightly different lengths."""
    records = []
    for i in range(count):
        rng = np.random.default_rng(i)
        path = root / f"{task}_{i}.png"
        coarse = rng.integers(0, 255, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize(size, Image.BICUBIC).save(path)
        question = f"Question {i}: how many " + "small " * (i % 4) + "vehicles are parked near the buildings?"
        records.append(
            Record(
                id=f"{task}_{i}",
                dataset="bench",
                task=task,
                images=[ImageRef(path=str(path), width=size[0], height=size[1])],
                annotation=VQAAnnotation(question=question, answer="3"),
            )
        )
    return records


class ZoomEveryOther:
    """`generate` whose first reply in chains of odd-numbered questions is a zoom into the top-left quarter."""

    def __init__(self, generate: GenerateFn) -> None:
        self.generate = generate

    @staticmethod
    def _scripted(conversation: list[dict[str, Any]]) -> str | None:
        if any(m["role"] == "assistant" for m in conversation):
            return None
        user = next(m for m in conversation if m["role"] == "user")
        text = next(p["text"] for p in user["content"] if p["type"] == "text")
        if int(text.split(":")[0].removeprefix("Question ")) % 2 == 0:
            return None
        image = next(p for p in user["content"] if p["type"] == "image")
        return format_tool_call([0, 0, image["resized_width"] // 2, image["resized_height"] // 2])

    def __call__(self, conversations: list[list[dict[str, Any]]]) -> list[str]:
        replies = [self._scripted(c) for c in conversations]
        asked = [c for c, r in zip(conversations, replies, strict=True) if r is None]
        answers = iter(self.generate(asked) if asked else [])
        return [r if r is not None else next(answers) for r in replies]


def timed(records: list[Record], generate: GenerateFn, config: EvalConfig, zoom: bool) -> tuple[float, list]:
    """Seconds to predict `records` into a fresh cache, and the predictions (with their zoom trajectories)."""
    folder = Path(tempfile.mkdtemp(prefix="eval_bench_cache_"))
    try:
        with PredictionCache(folder / "predictions.jsonl") as cache:
            start = time.perf_counter()
            infer_benchmark(records, cache, lambda: generate, config, model_spec(config), zoom=zoom, label="bench")
            seconds = time.perf_counter() - start
        entries = [cache.entries[r.id] for r in records]
    finally:
        shutil.rmtree(folder)
    errors = [e["error"] for e in entries if "error" in e]
    if errors:
        raise RuntimeError(f"{len(errors)} samples failed, e.g. {errors[0]}")
    return seconds, [(e["prediction"], e.get("zoom")) for e in entries]


REPEATS = 2


def fastest(records: list[Record], generate: GenerateFn, config: EvalConfig, zoom: bool) -> tuple[float, list, int]:
    """`timed` REPEATS times with torch on 1 thread and on all of them: the fastest seconds, its predictions (all
    runs must agree) and thread count."""
    everything = torch.get_num_threads()
    runs = []
    for threads in sorted({1, everything}):
        torch.set_num_threads(threads)
        runs.extend((*timed(records, generate, config, zoom), threads) for _ in range(REPEATS))
    torch.set_num_threads(everything)
    if any(run[1] != runs[0][1] for run in runs):
        raise RuntimeError("the predictions differ between runs of one setting")
    return min(runs, key=lambda run: run[0])


class InTurn:
    """An executor that runs each submitted call at once, in the caller's thread."""

    def __init__(self, workers: int) -> None:
        pass

    def __enter__(self) -> InTurn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, fn: Any, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:
            future.set_exception(error)
        return future


@contextlib.contextmanager
def images_read_in_turn():
    """Within the block, the evaluation reads the chains' images when it starts them, not ahead in a thread."""
    ahead = rscovlm_eval.inference.ThreadPoolExecutor
    rscovlm_eval.inference.ThreadPoolExecutor = InTurn
    try:
        yield
    finally:
        rscovlm_eval.inference.ThreadPoolExecutor = ahead


def settings(model: Path, batch: int, max_new_tokens: int, readers: int, **inference: Any) -> EvalConfig:
    return load_config(
        {
            "model": str(model),
            "benchmarks": [{"name": "lrs-vqa"}],  # not read: the samples are given to infer_benchmark directly
            "generation": {"batch_size": batch, "max_new_tokens": max_new_tokens},
            "resolution": {
                "min_pixels": 3136,
                "max_pixels": 200704,
                "tasks": {"uhr_vqa": {"min_pixels": 3136, "max_pixels": 50176}},
            },
            "device": "cpu",
            "progress": False,
            "inference": {"image_readers": readers, **inference},
        }
    )


def in_turn(generate: GenerateFn) -> GenerateFn:
    """`generate` as a plain callable: the evaluation then prepares each batch when the model is to answer it."""
    return partial(generate.__call__)


def report(name: str, count: int, seconds: float, base: float, same: bool, threads: int | None = None) -> None:
    verdict = "identical to batch 1" if same else "DIFFERENT from batch 1"
    where = "" if threads is None else f"  (torch threads {threads})"
    print(f"{name:<46} {count / seconds:8.2f} samples/s  {base / seconds:6.2f}x  predictions {verdict}{where}")


Row = tuple[str, int, Callable[[], tuple[float, list, int]]]
FASTEST_BATCH_1 = "fastest batch 1"


def compare(title: str, count: int, rows: list[Row]) -> dict[str, tuple[float, list]]:
    """Run each (name, batch size, run) row, then report each against the fastest batch-1 row (its ratio), its
    predictions against the first row's; returns seconds and predictions by name, and under FASTEST_BATCH_1."""
    results = {name: (batch, *run()) for name, batch, run in rows}
    expected = results[rows[0][0]][2]
    fastest_one = min((r for r in results.values() if r[0] == 1), key=lambda r: r[1])
    for name, (_, seconds, got, threads) in results.items():
        report(f"{title}, {name}", count, seconds, fastest_one[1], got == expected, threads)
    return {FASTEST_BATCH_1: (fastest_one[1], expected)} | {n: (r[1], r[2]) for n, r in results.items()}


def gains(title: str, runs: dict[str, tuple[float, list]], pairs: list[tuple[str, str]]) -> None:
    """How much faster each pair's first run is than its second."""
    print(f"{title:<46} " + ", ".join(f"{fast} {runs[slow][0] / runs[fast][0]:.2f}x" for fast, slow in pairs))


def rendered(records: list[Record], config: EvalConfig) -> list[list[dict[str, Any]]]:
    """The conversations the evaluation hands its backend for `records` (rendered, not answered)."""
    seen: list[list[dict[str, Any]]] = []

    def capture(conversations: list[list[dict[str, Any]]]) -> list[str]:
        seen.extend(conversations)
        return [""] * len(conversations)

    timed(records, capture, config, zoom=False)
    return seen


def time_split(conversations: list[list[dict[str, Any]]], generators: list[Any]) -> None:
    """Where a plain sample's time goes at each generator's batch size (`ms_a_sample`), and the most batching can
    gain once preparing is wholly hidden behind answering."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    per_sample = {}
    for generator in generators:
        ms = ms_a_sample(generator, conversations)
        print(f"{f'batch {generator.batch_size}, ms a sample':<46} " + "  ".join(f"{k} {t:.1f}" for k, t in ms.items()))
        per_sample[generator.batch_size] = max(ms.values())  # the longer of preparing and answering in full
    torch.set_num_threads(threads)
    (one, base), *others = per_sample.items()
    ceilings = ", ".join(f"batch {size} {base / t:.2f}x" for size, t in others)
    print(f"{f'ceiling against batch {one}, preparing hidden':<46} {ceilings}")


def ms_a_sample(generator: Any, conversations: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Milliseconds a sample, in batches of the generator's size: to prepare (images read, the processor run), to
    answer with one new token (the vision tower and the prefill) and with all of them."""
    size = generator.batch_size
    batches = [conversations[i : i + size] for i in range(0, len(conversations), size)]
    prepared = [generator.prepare(b) for b in batches]
    steps = {
        "prepare": lambda: [generator.prepare(b) for b in batches],
        "answer 1 token": lambda: [generator.answer(p, max_new_tokens=1) for p in prepared],
        f"answer {generator.max_new_tokens} tokens": lambda: [generator.answer(p) for p in prepared],
    }
    return {name: 1000 * best_of(step) / len(conversations) for name, step in steps.items()}


def best_of(step: Callable[[], Any], repeats: int = 3) -> float:
    """The fastest of `repeats` runs of `step`, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def serve(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`transformers serve MODEL` on a free port of 127.0.0.1; returns the process and the API root once healthy."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model), "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--device", "cpu"], stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
            return server, f"http://127.0.0.1:{port}/v1"
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"transformers serve failed: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--image-readers", type=int, default=InferenceConfig().image_readers)
    parser.add_argument("--no-server", action="store_true", help="Skip the openai backend figures.")
    args = parser.parse_args()
    from rscovlm_model import build_tiny_checkpoint

    root = Path(tempfile.mkdtemp(prefix="eval_bench_"))
    try:
        model = build_tiny_checkpoint(root / "tiny", "qwen2_5_vl")
        plain = make_records(root, args.samples, "vqa", (448, 336))
        chains = make_records(root, args.samples, "uhr_vqa", (1600, 1200))
        one, many = (settings(model, b, args.max_new_tokens, args.image_readers) for b in (1, args.batch))
        hf_one, hf_many = load_backend(one, model_spec(one)), load_backend(many, model_spec(many))
        timed(plain[:2], hf_many, many, zoom=False)  # warm-up
        print(
            f"tiny Qwen2.5-VL on CPU, {args.samples} samples, max_new_tokens {args.max_new_tokens}, "
            f"image_readers {args.image_readers}"
        )
        n = args.batch
        plain_runs = compare(
            "plain, hf",
            len(plain),
            [
                ("batch 1", 1, lambda: fastest(plain, hf_one, one, zoom=False)),
                ("batch 1, prepared in turn", 1, lambda: fastest(plain, in_turn(hf_one), one, zoom=False)),
                (f"batch {n}", n, lambda: fastest(plain, hf_many, many, zoom=False)),
                (f"batch {n}, prepared in turn", n, lambda: fastest(plain, in_turn(hf_many), many, zoom=False)),
            ],
        )
        gains("preparing ahead gain", plain_runs, [(f"batch {b}", f"batch {b}, prepared in turn") for b in (1, n)])
        time_split(rendered(plain, one), [hf_one, hf_many])
        alone = settings(model, n, args.max_new_tokens, 1)

        def chains_read_in_turn(generate: GenerateFn, config: EvalConfig) -> tuple[float, list, int]:
            with images_read_in_turn():
                return fastest(chains, ZoomEveryOther(generate), config, zoom=True)

        chain_runs = compare(
            "zoom chains, hf",
            len(chains),
            [
                ("batch 1", 1, lambda: fastest(chains, ZoomEveryOther(hf_one), one, zoom=True)),
                ("batch 1, read in turn", 1, lambda: chains_read_in_turn(hf_one, one)),
                (f"batch {n}", n, lambda: fastest(chains, ZoomEveryOther(hf_many), many, zoom=True)),
                (f"batch {n}, 1 image reader", n, lambda: fastest(chains, ZoomEveryOther(hf_many), alone, zoom=True)),
                (f"batch {n}, read in turn", n, lambda: chains_read_in_turn(hf_many, many)),
            ],
        )
        gains("read-ahead gain", chain_runs, [(f"batch {b}", f"batch {b}, read in turn") for b in (1, n)])
        gains("image readers gain", chain_runs, [(f"batch {n}", f"batch {n}, 1 image reader")])
        base, expected = plain_runs[FASTEST_BATCH_1]
        if args.no_server:
            return
        server, url = serve(model, root / "serve.log")
        try:
            for concurrency in (1, 8):
                inference = {"backend": "openai", "base_url": url, "concurrency": concurrency}
                config = settings(model, 8, args.max_new_tokens, args.image_readers, **inference)
                seconds, got = timed(plain, load_backend(config, model_spec(config)), config, zoom=False)
                report(f"plain, openai, {concurrency} in flight", len(plain), seconds, base, got == expected)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
