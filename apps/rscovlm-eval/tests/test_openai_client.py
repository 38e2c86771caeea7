"""The `openai` backend's client: requests as servers expect them, retries with backoff, failures sorted into a
sample's error or a stopped run. A local stdlib HTTP server plays a server that fails on purpose."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image
from rs_resolution import ResolutionPolicy
from rscovlm_eval.backends import BackendError, RequestError
from rscovlm_eval.backends.openai import OpenAIChat, openai_messages, reply_text, special_tokens
from rscovlm_eval.config import ConfigError
from rscovlm_eval.runner import run_evaluation


class Script(BaseHTTPRequestHandler):
    """Answers POSTs from `server.script` (status codes, then completions echoing the last user text)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.server.models]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        status = self.server.script.pop(0) if self.server.script else 200
        if status != 200:
            self._send(status, {"error": {"message": f"scripted {status}"}})
            return
        text = body["messages"][-1]["content"][-1]["text"]
        self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo {text}"}}]})

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    with _serving() as httpd:
        yield httpd


@contextmanager
def _serving():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Script)
    httpd.script, httpd.bodies, httpd.models = [], [], ["served-model"]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _chat(url: str, **options) -> OpenAIChat:
    return OpenAIChat(
        base_url=url, model="served-model", factor=28, policy=ResolutionPolicy(), max_new_tokens=5, **options
    )


def _conversation(text: str, image: Image.Image | None = None) -> list[dict]:
    parts = [{"type": "text", "text": text}]
    if image is not None:
        parts.insert(0, {"type": "image", "image": image, "resized_height": 56, "resized_width": 84})
    return [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": parts}]


def test_images_travel_as_png_of_the_prepared_pixels():
    pixels = np.random.default_rng(0).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    messages = openai_messages(_conversation("what?", Image.fromarray(pixels)), 28, ResolutionPolicy())
    assert messages[0] == {"role": "system", "content": "You are helpful."}
    url = messages[1]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.size == (84, 56)  # the part's resized_width x resized_height, as the hf backend feeds the model
    assert messages[1]["content"][1] == {"type": "text", "text": "what?"}


def test_tool_calls_parsed_by_the_server_are_written_back_as_qwen_text():
    message = {
        "content": "",
        "tool_calls": [{"function": {"name": "image_zoom_in", "arguments": '{"bbox": [1, 2, 30, 40]}'}}],
    }
    assert reply_text(message) == (
        '<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [1, 2, 30, 40]}}\n</tool_call>'
    )
    assert reply_text({"content": "a plane"}) == "a plane"


def test_special_tokens_a_server_leaves_in_are_dropped_as_hf_decoding_does(tiny_model):
    drop = special_tokens(tiny_model)
    assert "<|quad_start|>" in drop and "<|im_end|>" in drop
    assert "<tool_call>" not in drop  # not special in Qwen's tokenizer: the zoom protocol needs it
    assert reply_text({"content": "ball<|quad_start|> x<|box_end|>"}, drop) == "ball x"


def test_requests_are_greedy_concurrent_and_in_order(server):
    chat = _chat(f"http://127.0.0.1:{server.server_port}/v1", concurrency=4)
    answers = chat([_conversation(f"q{i}") for i in range(10)])
    assert answers == [f"echo q{i}" for i in range(10)]
    body = server.bodies[0]
    assert body["model"] == "served-model" and body["temperature"] == 0.0 and body["max_tokens"] == 5
    assert chat.served_models() == ["served-model"]


def test_overloaded_server_is_retried_with_backoff(server):
    server.script = [503, 429]
    chat = _chat(f"http://127.0.0.1:{server.server_port}/v1", retries=2, backoff_s=0.01)
    assert chat([_conversation("q")]) == ["echo q"]
    assert len(server.bodies) == 3


def test_a_refused_request_is_that_samples_error(server):
    server.script = [400]
    with pytest.raises(RequestError, match="HTTP 400"):
        _chat(f"http://127.0.0.1:{server.server_port}/v1", retries=3, backoff_s=0.01)([_conversation("q")])
    assert len(server.bodies) == 1  # a 4xx is not retried
    server.script = [500, 500]
    with pytest.raises(RequestError, match=r"HTTP 500 .* \(after 1 retries\)"):
        _chat(f"http://127.0.0.1:{server.server_port}/v1", retries=1, backoff_s=0.01)([_conversation("q")])


def test_an_unreachable_server_stops_the_run():
    with ThreadingHTTPServer(("127.0.0.1", 0), Script) as closed:
        port = closed.server_port  # bound, then closed: nothing listens there
    with pytest.raises(BackendError, match=rf"cannot reach http://127.0.0.1:{port}/v1/chat/completions"):
        _chat(f"http://127.0.0.1:{port}/v1", retries=1, backoff_s=0.01)([_conversation("q")])


def test_the_cli_names_an_unreachable_server(bench_root, qwen25_folder, tmp_path, make_config):
    import yaml
    from click.testing import CliRunner
    from rscovlm_eval.cli import main

    with ThreadingHTTPServer(("127.0.0.1", 0), Script) as closed:
        port = closed.server_port
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[{"name": "aid", "data": "scenes"}])
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump({**config.model_dump(mode="json"), "inference": {"retries": 0}}))
    result = CliRunner().invoke(
        main, ["run", str(path), "--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1"]
    )
    assert result.exit_code == 1 and f"cannot reach http://127.0.0.1:{port}/v1/models" in result.output
    assert "Traceback" not in result.output


def _served_run(make_config, qwen25_folder, bench_root, tmp_path, url: str, **inference):
    aid = [{"name": "aid", "data": "scenes"}]
    inference = {"backend": "openai", "base_url": url, "retries": 0, **inference}
    return make_config(qwen25_folder, bench_root, tmp_path, benchmarks=aid, plots=False, inference=inference)


def test_a_run_folder_keeps_the_answers_of_one_backend(server, bench_root, qwen25_folder, tmp_path, make_config):
    url = f"http://127.0.0.1:{server.server_port}/v1"
    run_dir = run_evaluation(_served_run(make_config, qwen25_folder, bench_root, tmp_path, url))
    asked = len(server.bodies)
    assert asked and json.loads((run_dir / "run.json").read_text())["backend"]["served_model"] == "served-model"
    run_evaluation(_served_run(make_config, qwen25_folder, bench_root, tmp_path, url, model="served-model"))
    assert len(server.bodies) == asked  # the same server and model: every answer comes from the cache

    with _serving() as other, pytest.raises(ConfigError, match="another backend") as refused:
        other_url = f"http://127.0.0.1:{other.server_port}/v1"
        run_evaluation(_served_run(make_config, qwen25_folder, bench_root, tmp_path, other_url))
    assert f"backend.base_url: {url!r} -> {other_url!r}" in str(refused.value)

    server.models = ["another-model"]
    with pytest.raises(ConfigError, match=re.escape("backend.served_model: 'served-model' -> 'another-model'")):
        run_evaluation(_served_run(make_config, qwen25_folder, bench_root, tmp_path, url))
    hf = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[{"name": "aid", "data": "scenes"}], plots=False)
    with pytest.raises(ConfigError, match=re.escape("backend.kind: 'openai' -> 'hf'")):
        run_evaluation(hf)
    assert len(server.bodies) == asked
