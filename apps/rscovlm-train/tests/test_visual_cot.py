"""Upstream's visual-CoT training files train as they are: converted by `rs-data convert visual-cot` and named in the
mixture, they train as Zoom-in Chains whose crop is cut from the source image when the sample loads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner
from PIL import Image
from rs_data import read_records
from rs_data.cli import main as rs_data_cli
from rs_data.render import render
from rs_resolution import load_image
from rs_zoom import ZOOMED_PROMPT, BuildConfig, build_zoom_dataset, parse_tool_call, tool_system_prompt, zoom_question
from rscovlm_model import build_tiny_checkpoint, load_processor
from rscovlm_train.config import parse_config
from rscovlm_train.data import build_sampling
from rscovlm_train.run import train
from rscovlm_train.trainer import SAMPLE_TRACE_DIR
from rscovlm_train.validate import report, validate

BICUBIC = Image.Resampling.BICUBIC
# the documented structure of the published files, with real LRS-VQA questions (see its PROVENANCE.md)
FIXTURES = Path(__file__).parents[3] / "packages" / "rs-data" / "tests" / "data" / "visual_cot"
SCALE = 16  # images and boxes are generated this many times smaller than the real ones
RESOLUTION = {"factor": 28, "min_pixels": 3136, "max_pixels": 50176}  # at most 64 visual tokens an image


def _scaled(entry: dict) -> dict:
    entry = json.loads(json.dumps(entry))
    if "image_ori_width" in entry:
        entry["image_ori_width"] = math.ceil(entry["image_ori_width"] / SCALE)
        entry["image_ori_height"] = math.ceil(entry["image_ori_height"] / SCALE)
    boxes = entry.get("bbox_info", {}).get("crop_hbox", [])
    entry["bbox_info"]["crop_hbox"] = [[v / SCALE for v in box] for box in boxes]
    return entry


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(entries file, images folder): the open-ended and multiple-choice fixtures in one file at 1/SCALE size, and
    seeded noise images of those sizes (the multiple-choice image a plain TIFF, as in LRS-VQA)."""
    root = tmp_path_factory.mktemp("visual_cot")
    entries = [
        _scaled(e)
        for name in ("openended_small", "mcq_small")
        for e in json.loads((FIXTURES / f"{name}.json").read_text())
    ]
    rng = np.random.default_rng(0)
    for entry in entries:
        path = root / "images" / "LRS_VQA" / "image" / Path(entry["image"]).name
        if "image_ori_width" not in entry or path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (entry["image_ori_height"], entry["image_ori_width"], 3), dtype=np.uint8)
        if path.suffix == ".tif":
            tifffile.imwrite(path, pixels)
        else:
            Image.fromarray(pixels).save(path)
    source = root / "visual_cot.json"
    source.write_text(json.dumps(entries))
    return source, root / "images"


@pytest.fixture(scope="module")
def converted(published: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `rs-data convert visual-cot` writes."""
    source, images = published
    out = tmp_path_factory.mktemp("converted") / "lrs_vqa_zoom_cot"
    args = ["convert", "visual-cot", str(source), "--out", str(out), "-o", f"images={images}", "--workers", "1"]
    result = CliRunner().invoke(rs_data_cli, args)
    assert result.exit_code == 0, result.output
    assert "3 records" in result.output  # the inverted box, the missing answer and the bad letter are skipped
    return out


@pytest.fixture(scope="module")
def config(converted: Path, tmp_path_factory: pytest.TempPathFactory):
    """A training config whose mixture names the converted folder (as the README shows), on a tiny Qwen2.5-VL."""
    root = tmp_path_factory.mktemp("run")
    model = build_tiny_checkpoint(root / "model")
    return parse_config(
        {
            "seed": 0,
            "model": {"path": str(model), "family": "qwen2_5_vl", "dtype": "float32", "attn_implementation": "sdpa"},
            "data": {
                "root": str(converted.parent),
                "mixture": {"datasets": [{"name": "lrs_vqa_zoom_cot", "path": converted.name}]},
                "resolution": RESOLUTION,
                "render": {"convention": "absolute"},
                "max_length": 768,
            },
            "optim": {"lr": 1e-3, "max_steps": 1, "per_device_batch_size": 3, "precision": "fp32"},
            "output": {"dir": str(root / "out"), "save_steps": 1, "logging_steps": 1, "report_to": []},
        }
    )


def _samples(config) -> dict[str, object]:
    """Each record's rendered sample and training item, loaded the way a training run loads them."""
    dataset, _ = build_sampling(config, load_processor(config.model.path), 0, 1)
    dataset.mixture.load_images = True  # keep the pixels the model is given, to compare them
    return {item.record_id: (dataset.mixture[i], item) for i in range(len(dataset)) for item in [dataset[(0, i)]]}


def _texts(message: dict) -> list[str]:
    return [part["text"] for part in message["content"] if part["type"] == "text"]


def test_a_zoom_question_trains_as_a_chain_cut_from_the_source(config, published):
    _, images = published
    sample, item = _samples(config)["GLH-Bridge_381"]
    question = (
        "What color is the roof of the buildings near the largest bridge?\n"
        " Answer the question using a single word or phrase."
    )
    assert [(m["role"], _texts(m)) for m in sample.messages] == [
        ("system", [tool_system_prompt("absolute")]),
        ("user", [zoom_question(question)]),
        ("assistant", [sample.messages[2]["content"][0]["text"]]),
        ("user", [ZOOMED_PROMPT]),
        ("assistant", ["blue"]),
    ]
    # the source is 512 x 512 (8192 / 16): the overview is 224 x 224 (64 tokens of 28 px), a factor 224 / 512
    overview, crop = (p for m in sample.messages for p in m["content"] if p["type"] == "image")
    assert (overview["resized_width"], overview["resized_height"]) == (224, 224) and "window" not in overview
    # the crop box [1953, 5023, 2149, 5122] / 16 = [122.0625, 313.9375, 134.3125, 320.125]: columns 122..134, rows
    # 313..320 of the source
    source = images / "LRS_VQA" / "image" / "test-704.png"
    assert overview["image"] == crop["image"] == str(source) and crop["window"] == [122, 313, 135, 321]
    with Image.open(source) as image:
        pixels = image.convert("RGB")
    size = (crop["resized_width"], crop["resized_height"])
    shown = [pixels.resize((224, 224), BICUBIC), pixels.crop((122, 313, 135, 321)).resize(size, BICUBIC)]
    assert np.array_equal(np.asarray(sample.images[1]), np.asarray(shown[1]))
    # and the model is given exactly those pixels
    reference = load_processor(config.model.path).image_processor(images=shown, return_tensors="pt")
    assert torch.equal(item.encoded.pixel_values, reference["pixel_values"])
    # the tool call names the box on the overview: 122.0625 * 0.4375 = 53.4, 313.9375 * 0.4375 = 137.35, ...
    call = parse_tool_call(sample.messages[2]["content"][0]["text"])
    assert call.status == "ok" and call.bbox == (53, 137, 59, 140)
    assert item.encoded is not None and len(item.encoded.image_grid_thw) == 2 and item.encoded.truncated_tokens == 0


def test_two_boxes_train_as_a_plain_question(config):
    sample, item = _samples(config)["STAR_compare_1"]
    question = "Is the crane left of the ship?\n Answer the question using a single word or phrase."
    assert [(m["role"], _texts(m)) for m in sample.messages] == [("user", [question]), ("assistant", ["yes"])]
    assert len(sample.images) == 1 and item.encoded is not None


def test_the_chains_are_the_ones_rs_zoom_build_writes(config, published, tmp_path):
    source, images = published
    build = BuildConfig(source_format="visual-cot", policy=config.data.resolution, convention="absolute")
    manifest = build_zoom_dataset(source, images, tmp_path / "built", build)
    assert (manifest.zoom_records, manifest.plain_records) == (2, 1)
    built = {r.id: r for r in read_records(tmp_path / "built" / "records.jsonl")}
    samples = _samples(config)
    assert sorted(samples) == sorted(built)
    for record_id, (sample, _) in samples.items():
        written = render(built[record_id], config.data.resolution, config.data.render, np.random.default_rng(0), True)
        assert [(m["role"], _texts(m)) for m in sample.messages] == [(m["role"], _texts(m)) for m in written.messages]
        assert [i.size for i in sample.images] == [i.size for i in written.images]
        assert all(
            np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(sample.images, written.images, strict=True)
        )
        if len(sample.images) == 2:  # the window cut at load time is the crop file the build writes
            crop = next(p for p in sample.messages[3]["content"] if p["type"] == "image")
            with Image.open(built[record_id].images[1].path) as png:
                assert np.array_equal(np.asarray(load_image(crop["image"], crop["window"])), np.asarray(png))


def test_validate_counts_chains_and_plain_questions(config):
    result = validate(config, world_size=1)
    assert result.ok, result.problems
    (summary,) = result.datasets
    assert (summary.zoom.chains, summary.zoom.plain, summary.zoom.skipped) == (2, 1, 0)
    assert "lrs_vqa_zoom_cot: 2 as Zoom-in Chains, 1 as plain questions" in report(result)


def test_a_bad_crop_box_is_skipped_and_counted(config, converted, tmp_path):
    lines = (converted / "records.jsonl").read_text().splitlines()
    broken = json.loads(lines[0])
    broken["meta"]["crop_hbox"] = [[900, 900, 950, 950]]  # outside the 512 x 512 image
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join([json.dumps(broken), *lines[1:]]) + "\n")
    data = config.data.model_copy(update={"root": tmp_path})
    mixture = data.mixture.model_copy(
        update={"datasets": [data.mixture.datasets[0].model_copy(update={"path": "records.jsonl"})]}
    )
    edited = config.model_copy(update={"data": data.model_copy(update={"mixture": mixture})})
    dataset, _ = build_sampling(edited, load_processor(config.model.path), 0, 1)
    items = [dataset[(0, i)] for i in range(len(dataset))]
    (skipped,) = [item for item in items if item.encoded is None]
    assert skipped.record_id == broken["id"] and "crop box [900.0, 900.0, 950.0, 950.0]" in skipped.problem
    assert validate(edited, world_size=1).datasets[0].zoom.skipped == 1


def test_one_training_step_on_the_chains(config, logged):
    final = train(config).final
    losses = logged(final.parent / "checkpoint-1", "loss")
    assert list(losses) == [1] and math.isfinite(losses[1]) and losses[1] > 0
    trace = (final.parent / SAMPLE_TRACE_DIR / "rank0.jsonl").read_text().splitlines()
    assert sorted(json.loads(trace[0])["ids"]) == ["FAIR_1236_mcq", "GLH-Bridge_381", "STAR_compare_1"]
