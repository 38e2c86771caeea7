"""Shared fixtures: the benchmark fixtures in a temporary folder (with the images the annotations need), model
folders, an oracle `generate` that answers with the rendered ground truth, and the tiny Qwen checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rs_zoom import ZOOM_INSTRUCTION, ZOOMED_PROMPT, format_tool_call
from rscovlm_eval.config import EvalConfig, load_config
from rscovlm_eval.data import load_benchmark_records
from rscovlm_eval.inference import sample_rng
from rscovlm_eval.model_settings import model_spec
from rscovlm_eval.testing import chromium  # noqa: F401  (the headless browser fixture)

DATA = Path(__file__).parent / "data"


def _blank(path: Path, size: tuple[int, int], seed: int = 0) -> None:
    """A plain image of `size` (width, height) with a little noise, standing in for a data set's image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = np.full((size[1], size[0], 3), 120, np.uint8) + rng.integers(0, 20, (1, size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


@pytest.fixture(scope="session")
def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data copied, plus generated stand-ins for the images the real annotations refer to."""
    root = tmp_path_factory.mktemp("benchmarks")
    shutil.copytree(DATA, root, dirs_exist_ok=True)
    _blank(root / "hrsc2016" / "100000006.bmp", (1172, 816))
    _blank(root / "fair1m" / "0.tif", (600, 400))
    for entry in json.loads((root / "captions" / "dataset_sydney_small.json").read_text())["images"]:
        _blank(root / "captions" / "images" / entry["filename"], (500, 500), entry["imgid"])
    _blank(root / "rsvqa" / "Images_LR" / "0.tif", (256, 256))
    for row in map(json.loads, (root / "lrs_vqa" / "LRS_VQA_small.jsonl").read_text().splitlines()):
        _blank(root / "lrs_vqa" / "images" / Path(row["image"]).name, tuple(row["image_size"]))
    dota = Image.open(DATA / "dota" / "images" / "P1888.png").convert("RGB")
    (root / "dota_test").mkdir()
    dota.crop((100, 50, 612, 562)).save(root / "dota_test" / "P1888__1024__100___50.png")  # a DOTA_devkit patch name
    dior = Image.open(DATA / "dior_r" / "00001.jpg")
    (root / "mme" / "remote_sensing").mkdir(parents=True)
    dior.save(root / "mme" / "remote_sensing" / "00001.jpg")
    (root / "vrsbench" / "Images").mkdir()
    dior.save(root / "vrsbench" / "Images" / "00001.jpg")
    for category, entries in json.loads((root / "nwpu_captions" / "dataset_nwpu_small.json").read_text()).items():
        for entry in entries:
            _blank(root / "nwpu_captions" / "NWPU_images" / category / entry["filename"], (256, 256), entry["imgid"])
    for name in ("Airport/airport_1.jpg", "Beach/beach_7.jpg", "BareLand/bareland_3.jpg"):
        _blank(root / "geochat" / name, (600, 600))
    _blank(root / "geochat" / "0.tif", (256, 256))
    dior.save(root / "geochat" / "00001.png")
    for i, box in enumerate([(0, 0, 256, 256), (300, 200, 556, 456)]):
        (root / "scenes" / "parking_lot").mkdir(parents=True, exist_ok=True)
        dota.crop(box).save(root / "scenes" / "parking_lot" / f"parking_lot_{i}.png")
    for i, box in enumerate([(200, 300, 456, 556), (400, 300, 656, 556)]):
        (root / "scenes" / "golf_course").mkdir(parents=True, exist_ok=True)
        dior.crop(box).save(root / "scenes" / "golf_course" / f"golf_course_{i}.jpg")
    return root


ALL_BENCHMARKS: list[dict[str, Any]] = [
    {"name": "aid", "data": "scenes"},
    {"name": "sydney-captions", "data": "captions/dataset_sydney_small.json", "images": "captions/images"},
    {"name": "nwpu-captions", "data": "nwpu_captions/dataset_nwpu_small.json", "images": "nwpu_captions/NWPU_images"},
    {"name": "vrsbench-cap", "data": "vrsbench"},
    {"name": "rsvqa-lr", "data": "rsvqa", "images": "rsvqa/Images_LR"},
    {"name": "vrsbench-vqa", "data": "vrsbench"},
    {"name": "geochat-aid", "data": "geochat/aid_small.jsonl"},
    {"name": "geochat-lrben", "data": "geochat/lrben_small.jsonl"},
    {"name": "dior-rsvg", "data": "dior_rsvg", "images": "dior_r"},
    {"name": "vrsbench-ref", "data": "vrsbench"},
    {"name": "geochat-referring", "data": "geochat/referring_small.jsonl"},
    {"name": "dota1.0", "data": "dota"},
    {"name": "dior-r", "data": "dior_r"},
    {"name": "hrsc2016", "data": "hrsc2016"},
    {"name": "fair1m", "data": "fair1m"},
    {"name": "dota1.0-test", "data": "dota_test"},
    {"name": "lrs-vqa", "data": "lrs_vqa/LRS_VQA_small.jsonl", "images": "lrs_vqa/images"},
    {
        "name": "lrs-vqa",
        "data": "lrs_vqa/LRS_VQA_small.jsonl",
        "images": "lrs_vqa/images",
        "zoom": True,
        "zoom_skip_categories": [],
    },
    {"name": "mme-realworld-rs", "data": "mme/MME_RealWorld_small.json", "images": "mme"},
]


def model_folder(root: Path, family: str) -> Path:
    """A checkpoint folder holding only config.json: enough for the family's conventions (no weights needed)."""
    folder = root / f"config-only-{family}"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": family}))
    return folder


@pytest.fixture(scope="session")
def qwen25_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_folder(tmp_path_factory.mktemp("models"), "qwen2_5_vl")


@pytest.fixture(scope="session")
def qwen3_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_folder(tmp_path_factory.mktemp("models"), "qwen3_vl")


def _user_text(conversation: list[dict[str, Any]]) -> tuple[Any, str]:
    user = next(m for m in conversation if m["role"] == "user")
    image = next((p["image"] for p in user["content"] if p["type"] == "image"), None)
    return image, "\n".join(p["text"] for p in user["content"] if p["type"] == "text")


class Oracle:
    """A `generate` that answers every prompt with its rendered ground truth (and zooms once on zoom prompts).

    Optionally raises after `fail_after` answers, standing in for a run killed part-way. Its answers come from the
    same rendering code as the prompts, so it tests the plumbing (cache, shards, scoring), never the coordinate
    conventions: those are pinned by hand-computed targets and by models trained and evaluated end to end.
    """

    def __init__(self, config: EvalConfig, fail_after: int | None = None) -> None:
        from rs_data.render import render

        spec = model_spec(config)
        policy = spec.policy
        self.answers: dict[Any, str] = {}
        self.calls = 0
        self.fail_after = fail_after
        self.convention = spec.convention
        for bench in config.benchmarks:
            records, _ = load_benchmark_records(bench, config)
            for record in records:
                sample = render(record, policy, spec.render_for(record.task), sample_rng(config.seed, record.id))
                image, text = _user_text(sample.messages)
                self.answers.setdefault((str(image), text), sample.answer)
                self.answers.setdefault(text, sample.answer)

    def _reply(self, conversation: list[dict[str, Any]]) -> str:
        image, text = _user_text(conversation)
        if not text.endswith(ZOOM_INSTRUCTION):
            return self.answers[(str(image), text)]
        if any(m["role"] == "assistant" for m in conversation):  # the zoomed view came back: answer
            assert ZOOMED_PROMPT in _user_text(conversation[-1:])[1]
            return self.answers[text[: -len(ZOOM_INSTRUCTION)].rstrip("\n")]
        half = [0, 0, 500, 500] if self.convention == "relative1000" else [0, 0, image.width // 2, image.height // 2]
        return format_tool_call(half)

    def __call__(self, conversations: list[list[dict[str, Any]]]) -> list[str]:
        replies = []
        for conversation in conversations:
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise KeyboardInterrupt("stopped part-way")
            replies.append(self._reply(conversation))
            self.calls += 1
        return replies


def eval_config(model: Path, root: Path, out: Path, benchmarks=None, **extra: Any) -> EvalConfig:
    """An evaluation config over the fixture benchmarks with a small pixel budget."""
    return load_config(
        {
            "model": str(model),
            "data_root": str(root),
            "output_dir": str(out),
            "benchmarks": benchmarks if benchmarks is not None else ALL_BENCHMARKS,
            "resolution": {
                "min_pixels": 3136,
                "max_pixels": 200704,
                "tasks": {"uhr_vqa": {"min_pixels": 3136, "max_pixels": 50176}},
            },
            "progress": False,
            **extra,
        }
    )


@pytest.fixture(scope="session")
def all_benchmarks() -> list[dict[str, Any]]:
    return ALL_BENCHMARKS


@pytest.fixture(scope="session")
def oracle_class() -> type[Oracle]:
    return Oracle


@pytest.fixture(scope="session")
def make_config():
    return eval_config


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Qwen2.5-VL checkpoint, built once per session."""
    from rscovlm_model import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "qwen2_5_vl", "qwen2_5_vl")
