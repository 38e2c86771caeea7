"""The `openai` backend end to end against a real OpenAI-compatible server: `transformers serve` running the tiny
checkpoint on 127.0.0.1. Greedy answers must equal the `hf` backend's, sample by sample, for every task."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rscovlm_eval import run_evaluation

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served_tiny(tiny_model, tmp_path_factory):
    """`transformers serve TINY --host 127.0.0.1 --port P` for the module; yields the API root."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "serve.log").open("w")
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(tiny_model)]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not start: {Path(log.name).read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _predictions(run_dir: Path) -> dict[tuple[str, str], dict]:
    """Every cache entry of a run folder by (benchmark folder, sample id)."""
    return {
        (path.parent.name, entry["id"]): entry
        for path in sorted(run_dir.glob("*/predictions.*.jsonl"))
        for entry in map(json.loads, path.open())
    }


def test_hf_and_openai_give_the_same_answers_for_every_task(
    bench_root, tiny_model, served_tiny, tmp_path, all_benchmarks, make_config
):
    one_per_task = ("aid", "sydney-captions", "rsvqa-lr", "dior-rsvg", "dota1.0", "lrs-vqa", "mme-realworld-rs")
    settings = {
        "benchmarks": [
            {**b, "limit": 1} for b in all_benchmarks if b["name"] in one_per_task
        ],  # lrs-vqa: with zoom too
        "generation": {"batch_size": 4, "max_new_tokens": 16},
        "resolution": {"min_pixels": 3136, "max_pixels": 12544},
        "device": "cpu",
        "plots": False,
    }
    hf = run_evaluation(make_config(tiny_model, bench_root, tmp_path / "hf", **settings))
    openai = make_config(
        tiny_model,
        bench_root,
        tmp_path / "openai",
        inference={"backend": "openai", "base_url": served_tiny},
        **settings,
    )
    served = run_evaluation(openai)

    expected, got = _predictions(hf), _predictions(served)
    assert len(expected) == len(one_per_task) + 1 and set(got) == set(expected)
    for key, entry in expected.items():
        assert "error" not in entry and "error" not in got[key], (key, entry, got[key])
        assert got[key]["prediction"] == entry["prediction"], key
        assert got[key].get("zoom") == entry.get("zoom"), key
    run = json.loads((served / "run.json").read_text())
    assert run["backend"] == {
        "kind": "openai",
        "base_url": served_tiny,
        "model": None,
        "served_model": str(tiny_model),  # transformers serve names a local model by its path
    }
