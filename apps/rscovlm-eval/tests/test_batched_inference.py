"""Batched inference predicts what one sample at a time predicts: Zoom-in Chains refill finished slots, a failed
request is the error of its own sample alone, and the tiny model answers the same at batch 1 and batch 4."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data import ImageRef, Record, VQAAnnotation
from rs_zoom import format_tool_call
from rscovlm_eval.backends import RequestError, load_backend
from rscovlm_eval.cache import PredictionCache
from rscovlm_eval.inference import infer_benchmark
from rscovlm_eval.model_settings import model_spec


def _records(root: Path, count: int, task: str, size: tuple[int, int]) -> list[Record]:
    records = []
    for i in range(count):
        path = root / f"{task}_{i}.png"
        pixels = np.random.default_rng(i).integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize(size).save(path)
        records.append(
            Record(
                id=f"{task}_{i}",
                dataset="bench",
                task=task,
                images=[ImageRef(path=str(path), width=size[0], height=size[1])],
                annotation=VQAAnnotation(question=f"Question {i}: what is " + "it " * (i % 3) + "?", answer="x"),
            )
        )
    return records


def _question(conversation: list[dict]) -> int:
    """The number i of the conversation's "Question i: ..."."""
    user = next(m for m in conversation if m["role"] == "user")
    return int(next(p["text"] for p in user["content"] if p["type"] == "text").split(":")[0].split()[-1])


class Scripted:
    """A `generate` whose replies depend on each conversation alone: question i zooms i % 3 times, then answers;
    `fail` = (question, round) refuses that request."""

    def __init__(self, fail: tuple[int, int] | None = None) -> None:
        self.fail = fail
        self.sizes: list[int] = []

    def _reply(self, conversation: list[dict]) -> str:
        user = next(m for m in conversation if m["role"] == "user")
        question = _question(conversation)
        rounds = sum(m["role"] == "assistant" for m in conversation)
        if (question, rounds) == self.fail:
            raise RequestError("HTTP 400: refused")
        if rounds < question % 3:
            overview = next(p for p in user["content"] if p["type"] == "image")
            box = [rounds * 28, 0, overview["resized_width"] // 2, overview["resized_height"] // 2]
            return format_tool_call(box)
        return f"answer {question} after {rounds} zooms"

    def __call__(self, conversations: list[list[dict]]) -> list[str]:
        self.sizes.append(len(conversations))
        return [self._reply(c) for c in conversations]


def _predict(records, generate, config, tmp_path: Path, zoom: bool) -> dict[str, dict]:
    path = tmp_path / f"cache-{len(list(tmp_path.glob('cache-*')))}.jsonl"
    with PredictionCache(path) as cache:
        infer_benchmark(records, cache, lambda: generate, config, model_spec(config), zoom=zoom, label="test")
    return PredictionCache(path).entries


@pytest.fixture
def chains(tmp_path: Path) -> list[Record]:
    return _records(tmp_path, 7, "uhr_vqa", (1600, 1200))


def _config(make_config, model: Path, tmp_path: Path, batch: int, readers: int = 1):
    benchmarks = [{"name": "lrs-vqa"}]  # not read: the records are given to infer_benchmark
    generation = {"batch_size": batch}
    inference = {"image_readers": readers}
    return make_config(
        model, tmp_path, tmp_path / "out", benchmarks=benchmarks, generation=generation, inference=inference
    )


def test_finished_chains_hand_their_slot_to_the_next_sample(chains, qwen25_folder, tmp_path, make_config):
    alone = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    pooled_model = Scripted()
    pooled = _predict(chains, pooled_model, _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=True)
    assert pooled == alone
    assert [alone[r.id]["zoom"]["rounds"] for r in chains] == [0, 1, 2, 0, 1, 2, 0]
    # chains of 1, 2, 3, 1, 2, 3, 1 rounds in 3 slots; batches of 3 waiting for their slowest chain would make
    # [3, 2, 1, 3, 2, 1, 1]
    assert pooled_model.sizes == [3, 3, 3, 3, 1]


def test_the_next_chains_images_are_read_while_the_model_generates(
    chains, qwen25_folder, tmp_path, make_config, monkeypatch
):
    import rs_zoom.chain

    opened: list[str] = []
    real_open = rs_zoom.chain.open_source
    monkeypatch.setattr(rs_zoom.chain, "open_source", lambda path: opened.append(Path(path).name) or real_open(path))

    class ReadsAhead(Scripted):
        """Its first call waits (up to 10 s) for the images of 6 samples to be opened, and notes which were."""

        read_during_first_call: list[str] | None = None

        def __call__(self, conversations: list[list[dict]]) -> list[str]:
            if self.read_during_first_call is None:
                deadline = time.monotonic() + 10
                while len(opened) < 6 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.read_during_first_call = list(opened)
            return super().__call__(conversations)

    model = ReadsAhead()
    pooled = _predict(chains, model, _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=True)
    assert model.read_during_first_call == [f"uhr_vqa_{i}.png" for i in range(6)]  # 3 running, 3 read ahead
    alone = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    assert pooled == alone


@pytest.mark.parametrize("batch", [1, 3])
def test_image_readers_read_the_next_chains_images_at_once(
    batch, chains, qwen25_folder, tmp_path, make_config, monkeypatch
):
    """With `image_readers` 3, three images are decoded at the same time, even at batch 1."""
    import rs_zoom.sources

    real_load = rs_zoom.sources.load_image
    together = threading.Barrier(3, timeout=10)
    opened: list[str] = []

    def load_together(path):
        opened.append(Path(path).name)
        if len(opened) <= 3:
            together.wait()  # broken, and the run fails, unless three readers decode at once
        return real_load(path)

    monkeypatch.setattr(rs_zoom.sources, "load_image", load_together)
    config = _config(make_config, qwen25_folder, tmp_path, batch, readers=3)
    pooled = _predict(chains, Scripted(), config, tmp_path, zoom=True)
    monkeypatch.setattr(rs_zoom.sources, "load_image", real_load)
    alone = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    assert pooled == alone
    assert sorted(opened) == sorted(f"uhr_vqa_{i}.png" for i in range(7))


def test_a_refused_request_fails_its_own_chain_alone(chains, qwen25_folder, tmp_path, make_config):
    clean = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    config = _config(make_config, qwen25_folder, tmp_path, 3)
    failed = _predict(chains, Scripted(fail=(4, 1)), config, tmp_path, zoom=True)
    assert failed.pop("uhr_vqa_4")["error"] == "generation failed: HTTP 400: refused"
    assert failed == {k: v for k, v in clean.items() if k != "uhr_vqa_4"}


def test_an_unreadable_image_fails_its_own_chain_alone(chains, qwen25_folder, tmp_path, make_config):
    clean = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=True)
    Path(chains[2].images[0].path).write_bytes(b"not an image")
    damaged = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=True)
    assert damaged.pop("uhr_vqa_2")["error"].startswith("cannot read the image:")
    assert damaged == {k: v for k, v in clean.items() if k != "uhr_vqa_2"}


def _tiny_config(make_config, model: Path, tmp_path: Path, batch: int, max_new_tokens: int):
    generation = {"batch_size": batch, "max_new_tokens": max_new_tokens}
    benchmarks = [{"name": "lrs-vqa"}]  # not read: the records are given to infer_benchmark
    return make_config(model, tmp_path, tmp_path / "out", benchmarks=benchmarks, device="cpu", generation=generation)


def test_the_tiny_model_answers_the_same_at_batch_1_and_4(tiny_model, tmp_path, make_config):
    records = _records(tmp_path, 6, "vqa", (448, 336))
    answers = {}
    for batch in (1, 4):
        config = _tiny_config(make_config, tiny_model, tmp_path, batch, max_new_tokens=6)
        entries = _predict(records, load_backend(config, model_spec(config)), config, tmp_path, zoom=False)
        answers[batch] = [entries[r.id]["prediction"] for r in records]
    assert answers[4] == answers[1] and any(answers[1])


class TwoStep(Scripted):
    """A two-step `generate` (like the hf backend's) whose answer to the first batch waits (up to 10 s) for the
    preparation of the second to begin, and notes whether it did."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[list[int]] = []
        self.second_begun = threading.Event()
        self.overlapped: bool | None = None

    def prepare(self, conversations: list[list[dict]]) -> list[list[dict]]:
        self.prepared.append([_question(c) for c in conversations])
        if len(self.prepared) == 2:
            self.second_begun.set()
        return conversations

    def answer(self, prepared: list[list[dict]]) -> list[str]:
        if self.overlapped is None:
            self.overlapped = self.second_begun.wait(timeout=10)
        return self(prepared)


def test_the_next_plain_batch_is_prepared_while_the_model_answers(qwen25_folder, tmp_path, make_config):
    records = _records(tmp_path, 7, "vqa", (448, 336))
    config = _config(make_config, qwen25_folder, tmp_path, 3)
    model = TwoStep()
    pooled = _predict(records, model, config, tmp_path, zoom=False)
    assert model.overlapped is True
    assert model.prepared == [[0, 1, 2], [3, 4, 5], [6]]  # each batch once, in order
    assert pooled == _predict(
        records, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=False
    )


def test_an_unreadable_image_of_a_prepared_batch_fails_its_own_sample_alone(tiny_model, tmp_path, make_config):
    records = _records(tmp_path, 6, "vqa", (448, 336))
    config = _tiny_config(make_config, tiny_model, tmp_path, 3, max_new_tokens=4)
    generate = load_backend(config, model_spec(config))
    clean = _predict(records, generate, config, tmp_path, zoom=False)
    Path(records[4].images[0].path).write_bytes(b"not an image")  # in the batch prepared in the background
    damaged = _predict(records, generate, config, tmp_path, zoom=False)
    error = damaged.pop("vqa_4")["error"]
    assert error.startswith("generation failed:") and "vqa_4.png" in error
    assert damaged == {k: v for k, v in clean.items() if k != "vqa_4"}


class InFlight(Scripted):
    """A concurrent `generate` (like the openai backend's), 2 requests at once, whose first request for question 0
    waits (up to 10 s) until the questions `others` have their final answers, and notes whether they had. In
    `chains`, a tool call is not final."""

    concurrency = 2

    def __init__(self, others: set[int], chains: bool = False, fail: tuple[int, int] | None = None) -> None:
        super().__init__(fail)
        self.others, self.chains = others, chains
        self.answered: list[int] = []  # the questions, in the order of their final answers
        self.others_done = threading.Event()
        self.overtaken: bool | None = None

    def complete(self, conversation: list[dict]) -> str:
        question = _question(conversation)
        if question == 0 and self.overtaken is None:
            self.overtaken = self.others_done.wait(timeout=10)
        reply = self._reply(conversation)
        if not (self.chains and reply.startswith("<tool_call>")):
            self.answered.append(question)
            if set(self.answered) >= self.others:
                self.others_done.set()
        return reply


def test_a_slow_request_does_not_hold_back_the_next_prompts(qwen25_folder, tmp_path, make_config):
    records = _records(tmp_path, 6, "vqa", (448, 336))
    model = InFlight(others={1, 2, 3, 4, 5})
    pooled = _predict(records, model, _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=False)
    assert model.overtaken is True
    assert model.answered[-1] == 0 and model.sizes == []  # one request a prompt, never a batch
    alone = _predict(records, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=False)
    assert pooled == alone


def test_a_refused_request_in_flight_fails_its_own_sample_alone(qwen25_folder, tmp_path, make_config):
    records = _records(tmp_path, 6, "vqa", (448, 336))
    config = _config(make_config, qwen25_folder, tmp_path, 3)
    failed = _predict(records, InFlight(others={1, 2, 3, 5}, fail=(4, 0)), config, tmp_path, zoom=False)
    assert failed.pop("vqa_4")["error"] == "generation failed: HTTP 400: refused"
    clean = _predict(records, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=False)
    assert failed == {k: v for k, v in clean.items() if k != "vqa_4"}


def test_a_chain_sends_its_next_request_as_soon_as_its_reply_arrives(chains, qwen25_folder, tmp_path, make_config):
    """On a concurrent backend, the other chains zoom and finish while question 0's first request is slow."""
    model = InFlight(others={1, 2, 3, 4, 5, 6}, chains=True)
    pooled = _predict(chains, model, _config(make_config, qwen25_folder, tmp_path, 3), tmp_path, zoom=True)
    assert model.overtaken is True
    assert model.answered[-1] == 0 and model.sizes == []  # one request a chain's round, never a batch
    alone = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    assert pooled == alone
    assert [alone[r.id]["zoom"]["rounds"] for r in chains] == [0, 1, 2, 0, 1, 2, 0]


def test_a_refused_request_in_flight_fails_its_own_chain_alone(chains, qwen25_folder, tmp_path, make_config):
    config = _config(make_config, qwen25_folder, tmp_path, 3)
    failed = _predict(chains, InFlight(others={1, 2, 3, 5, 6}, chains=True, fail=(4, 1)), config, tmp_path, zoom=True)
    assert failed.pop("uhr_vqa_4")["error"] == "generation failed: HTTP 400: refused"
    clean = _predict(chains, Scripted(), _config(make_config, qwen25_folder, tmp_path, 1), tmp_path, zoom=True)
    assert failed == {k: v for k, v in clean.items() if k != "uhr_vqa_4"}
