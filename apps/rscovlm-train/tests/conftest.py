"""Shared fixtures: the demo's data set and tiny model, prepared once per test session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from rscovlm_eval.testing import chromium  # noqa: F401  (the headless browser fixture)
from rscovlm_train.config import TrainConfig, parse_config
from rscovlm_train.demo import prepare_demo
from rscovlm_train.trainer import SAMPLE_TRACE_DIR


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo folder with sources, training / held-out records and the tiny Qwen2.5-VL checkpoint."""
    out = tmp_path_factory.mktemp("demo")
    prepare_demo(out)
    return out


@pytest.fixture(scope="session")
def demo_config_data(demo_dir: Path) -> dict[str, Any]:
    """The prepared demo config as plain YAML data (modify a copy, then `make_config`)."""
    return yaml.safe_load((demo_dir / "demo.yaml").read_text(encoding="utf-8"))


def _make_config(base: dict[str, Any], output_dir: Path, **sections: dict[str, Any]) -> TrainConfig:
    """The demo config without evaluation, writing to ``output_dir``, with fields of ``sections`` replaced."""
    data = yaml.safe_load(yaml.safe_dump(base))
    data["evaluation"] = None
    data["output"]["dir"] = str(output_dir)
    for section, fields in sections.items():
        data[section].update(fields)
    return parse_config(data)


def _logged(checkpoint: Path, key: str) -> dict[int, float]:
    """``step -> value`` of a logged metric, from a checkpoint's trainer state."""
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    return {entry["step"]: entry[key] for entry in state["log_history"] if key in entry}


def _assert_generates(checkpoint: Path) -> None:
    """The checkpoint loads with rscovlm_model and with plain transformers, and both generate text."""
    import torch
    import transformers
    from PIL import Image
    from rs_resolution import ResolutionPolicy
    from rscovlm_model import Generator, load_model, load_processor

    image = Image.new("RGB", (112, 84), (40, 120, 60))
    conversation = [
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Describe it."}]}
    ]
    model, processor = load_model(checkpoint, dtype="float32"), load_processor(checkpoint)
    policy = ResolutionPolicy(min_pixels=3136, max_pixels=50176)
    replies = Generator(model, processor, policy, max_new_tokens=6)([conversation])
    assert len(replies) == 1 and isinstance(replies[0], str)

    plain = transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(str(checkpoint))
    plain_processor = transformers.AutoProcessor.from_pretrained(str(checkpoint))
    text = plain_processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    inputs = plain_processor(text=[text], images=[image], return_tensors="pt")
    with torch.no_grad():
        output = plain.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]
    for name, parameter in plain.state_dict().items():
        assert torch.equal(parameter, model.state_dict()[name]), name


TEXT_DATASET = "chat"


def _text_only_records(folder: Path, answers: list[str]) -> Path:
    """FOLDER/chat.jsonl: instruction records without images, ``chat-<i>`` answering ``answers[i]``."""
    from rs_data import Record, write_records

    records = [
        Record.model_validate(
            {
                "id": f"{TEXT_DATASET}-{i}",
                "dataset": TEXT_DATASET,
                "task": "instruction",
                "images": [],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": f"Question {i}: what is remote sensing?"}]},
                    {"role": "assistant", "content": [{"type": "text", "text": answer}]},
                ],
            }
        )
        for i, answer in enumerate(answers)
    ]
    path = folder / f"{TEXT_DATASET}.jsonl"
    write_records(path, records)
    return path


@pytest.fixture(scope="session")
def text_only_records():
    return _text_only_records


def _launch(config: Path, processes: int, timeout: float = 1200, check: bool = True) -> str:
    """``torchrun --nproc_per_node PROCESSES -m rscovlm_train run CONFIG``, its standard error; the whole process
    group is killed and the test fails when it runs longer than ``timeout`` seconds (a deadlock), or (``check``)
    when it fails."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "rscovlm_train", "run", str(config)]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
            pytest.fail(f"{processes} processes still running after {timeout:.0f} s (hung):\n{stderr[-4000:]}")
    assert process.returncode == 0 or not check, stderr[-6000:]
    return stderr


def _rank_batches(output: Path) -> dict[int, dict[int, list[str]]]:
    """``rank -> step -> sample ids`` of the micro-batches each rank trained on."""
    ranks: dict[int, dict[int, list[str]]] = {}
    for trace in (output / SAMPLE_TRACE_DIR).glob("rank*.jsonl"):
        steps = ranks.setdefault(int(trace.stem.removeprefix("rank")), {})
        for line in trace.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            steps.setdefault(entry["step"], []).extend(entry["ids"])
    return ranks


def _step_ids(output: Path) -> dict[int, Counter]:
    """Sample ids trained on per optimiser step, all ranks together."""
    steps: dict[int, Counter] = {}
    for batches in _rank_batches(output).values():
        for step, ids in batches.items():
            steps.setdefault(step, Counter()).update(ids)
    return steps


@pytest.fixture(scope="session")
def packed_config(demo_config_data):
    """``(output, accumulation, deepspeed, steps, extra datasets) -> CONFIG.yaml``: the demo's mixture without the
    zoom chains (plus ``extra``), packed into rows of 1024 tokens, one pack per device, a checkpoint every 2 steps."""

    def write(output: Path, accumulation: int, deepspeed: str, steps: int, extra=()) -> Path:
        datasets = [d for d in demo_config_data["data"]["mixture"]["datasets"] if d["name"] != "lrs_vqa_zoom"]
        config = _make_config(
            demo_config_data,
            output,
            data={"packing": True, "max_length": 1024, "mixture": {"datasets": [*datasets, *extra]}},
            optim={  # a constant rate: a run stopped early has the schedule of the uninterrupted one
                "max_steps": steps,
                "scheduler": "constant_with_warmup",
                "per_device_batch_size": 1,
                "gradient_accumulation_steps": accumulation,
            },
            output={"save_steps": 2, "logging_steps": 1, "save_total_limit": None, "report_to": []},
            distributed={"deepspeed": deepspeed},
        )
        path = output.with_suffix(".yaml")
        path.write_text(config.to_yaml(), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def launch():
    return _launch


@pytest.fixture(scope="session")
def rank_batches():
    return _rank_batches


@pytest.fixture(scope="session")
def step_ids():
    return _step_ids


@pytest.fixture(scope="session")
def make_config():
    return _make_config


@pytest.fixture(scope="session")
def logged():
    return _logged


@pytest.fixture(scope="session")
def assert_generates():
    return _assert_generates
