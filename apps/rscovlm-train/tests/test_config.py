"""Configs: unknown keys, wrong types and missing or impossible values fail in `validate`, naming the field path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rs_data import read_records, write_records
from rscovlm_train.cli import main
from rscovlm_train.config import ConfigError, load_config, parse_config
from rscovlm_train.deepspeed_config import SHIPPED, deepspeed_config, zero_stage
from rscovlm_train.demo import demo_config_data
from rscovlm_train.evaluation import evaluation_config
from rscovlm_train.mixture import records_path

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
RECIPE = CONFIGS / "rscovlm-qwen2.5vl-7b.yaml"


def run_validate(config: Path, *args: str):
    return CliRunner().invoke(main, ["validate", str(config), *args])


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_prepared_demo_config_validates(demo_dir):
    result = run_validate(demo_dir / "demo.yaml")
    assert result.exit_code == 0, result.output
    # 1 DOTA + 6 HRSC2016 + 2 x 4 captions + 3 x 6 LRS-VQA-Zoom + 3 x 4 scenes + 2 x 3 RSVQA = 51 = 12.75 batches of 4
    assert "samples per epoch:      51" in result.output and "13 optimiser steps per epoch" in result.output
    assert "ucmerced" in result.output and "OK" in result.output


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d: d["optim"].update(bogus=1), "optim.bogus", "unknown key"),
        (lambda d: d.update(extra_section={}), "extra_section", "unknown key"),
        (lambda d: d["optim"].update(lr="fast"), "optim.lr", "valid number"),
        (lambda d: d["optim"].update(per_device_batch_size=0), "optim.per_device_batch_size", "greater than 0"),
        (lambda d: d["model"].pop("path"), "model.path", "Field required"),
        (lambda d: d["data"]["mixture"].update(datasets=[]), "data.mixture.datasets", "at least 1 item"),
        (
            lambda d: d["data"]["mixture"].update(
                datasets=[{"name": "dota", "weight": 0}, {"name": "ucmerced", "weight": 0}]
            ),
            "data.mixture",
            "sum to zero",
        ),
        (lambda d: d["data"]["mixture"].update(datasets=["dota*-2"]), "data.mixture", "expected NAME"),
        (lambda d: d["data"]["render"].update(box_types={"circle": 1}), "data.render.box_types.circle", "'hbb'"),
        (
            lambda d: d["data"]["mixture"]["datasets"].insert(1, {"name": "x", "render": {"box_type": "hbb"}}),
            "data.mixture.datasets[1].render.box_type",
            "unknown key",
        ),
        (
            lambda d: d["data"]["mixture"]["datasets"].insert(1, {"name": "x", "render": {"templates": {"vqa2": ""}}}),
            "data.mixture.datasets[1].render.templates.vqa2",
            "unknown key",
        ),
        (
            lambda d: d["data"]["mixture"]["datasets"].insert(1, {"name": "x", "render": {"styles": {"json": 0}}}),
            "data.mixture.datasets[1].render.styles",
            "positive sum",
        ),
        (lambda d: d["data"]["mixture"].update(datasets=["dota@circle"]), "data.mixture", "unknown box type"),
        (lambda d: d["data"]["resolution"].update(min_pixels=10**9), "data.resolution", "must not exceed"),
        (lambda d: d["evaluation"]["benchmarks"][0].update(nmae="x"), "evaluation.benchmarks[0].nmae", "unknown key"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, demo_config_data, change, field, message):
    data = json.loads(json.dumps(demo_config_data))
    change(data)
    result = run_validate(write(tmp_path, data))
    assert result.exit_code == 1
    line = next((line for line in result.output.splitlines() if line.strip().startswith(f"{field}:")), None)
    assert line is not None, result.output
    assert message in line


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ("model.path=/nonexistent/checkpoint", "model.path", "does not exist"),
        ("data.root=/nonexistent/records", "data.mixture.datasets[0].path", "no records file"),
        ("distributed.deepspeed=zero9", "distributed.deepspeed", "neither a shipped config"),
        ("evaluation.benchmarks.0.name=imagenet", "evaluation.benchmarks[0].name", "unknown benchmark"),
        ("data.resolution.factor=32", "data.resolution.factor", "does not match qwen2_5_vl"),
        ("optim.global_batch_size=3", "optim", "give either"),
    ],
)
def test_problems_found_on_disk_name_the_field(demo_dir, override, field, message):
    result = run_validate(demo_dir / "demo.yaml", "--set", override)
    assert result.exit_code == 1
    assert any(line.strip().startswith(f"{field}:") and message in line for line in result.output.splitlines()), (
        result.output
    )


def test_a_global_batch_that_does_not_divide_is_reported(demo_dir):
    result = run_validate(
        demo_dir / "demo.yaml",
        "--set",
        "optim.gradient_accumulation_steps=null",
        "--set",
        "optim.global_batch_size=6",
        "--world-size",
        "4",
    )
    assert result.exit_code == 1
    assert "optim.global_batch_size: 6 is not a multiple of per_device_batch_size x world size = 4 x 4" in result.output


def test_an_empty_or_corrupt_records_file_is_reported_with_its_line(tmp_path, demo_dir):
    root = tmp_path / "records"
    shutil.copytree(demo_dir / "records" / "train", root)
    (root / "dota.jsonl").write_text("", encoding="utf-8")
    (root / "hrsc2016.jsonl").write_text("", encoding="utf-8")
    lines = (root / "ucmerced.jsonl").read_text(encoding="utf-8").splitlines()
    (root / "ucmerced.jsonl").write_text("\n".join([*lines[:2], '{"id": 1}', *lines[2:]]) + "\n", encoding="utf-8")
    result = run_validate(demo_dir / "demo.yaml", "--set", f"data.root={root}")
    assert result.exit_code == 1
    assert "data.mixture.datasets[0].path: dota@poly:" in result.output and "holds no records" in result.output
    assert "data.mixture.datasets[1].path: hrsc2016:" in result.output
    assert "ucmerced.jsonl:3: invalid record" in result.output


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("model:\n  path: x\n optim: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3"):
        load_config(path)


def recipe_records(tmp_path: Path, demo_dir: Path) -> Path:
    """A records folder with a small file for each data set the recipe names."""
    root = tmp_path / "records"
    root.mkdir()
    for entry in load_config(RECIPE).data.mixture.datasets:
        shutil.copy(demo_dir / "records" / "train" / "ucmerced.jsonl", records_path(entry, root))
    return root


def test_the_upstream_recipe_fails_only_on_a_missing_model(tmp_path, demo_dir):
    root = recipe_records(tmp_path, demo_dir)
    result = run_validate(RECIPE, "--set", f"data.root={root}", "--world-size", "32")
    assert result.exit_code == 1
    problems = [line.strip() for line in result.output.splitlines() if line.startswith("  ")]
    assert len(problems) == 1 and problems[0].startswith("model.path:") and "does not exist" in problems[0]
    assert "global batch 32 samples (1 per device x 1 accumulation)" in result.output


def test_the_upstream_recipe_validates_with_a_model(tmp_path, demo_dir):
    root = recipe_records(tmp_path, demo_dir)
    model = demo_dir / "model"
    result = run_validate(RECIPE, "--set", f"data.root={root}", "--set", f"model.path={model}", "--world-size", "32")
    assert result.exit_code == 0, result.output
    assert "deepspeed:    zero1 (ZeRO stage 1)" in result.output
    own = result.output.split("own render settings (over data.render):\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(maxsplit=1) for line in own] == [
        ["refgeo_poly", "box_types: {poly: 1.0}"],
        ["refgeo_hbb", "box_types: {hbb: 1.0}"],
        ["dota_poly_trainval512", "box_types: {poly: 1.0}"],
        ["dota_hbb_trainval512", "box_types: {hbb: 1.0}"],
    ]


def test_the_recipe_mirrors_upstream_entries():
    """Upstream's data.json, entry by entry: DOTA's 512 px patches as polygons x25 and as horizontal boxes x1."""
    config = load_config(RECIPE)
    entries = {entry.name: entry for entry in config.data.mixture.datasets}
    poly, hbb = entries["dota_poly_trainval512"], entries["dota_hbb_trainval512"]
    assert poly.path == hbb.path == "dota_trainval512.jsonl" and (poly.repeat, hbb.repeat) == (25, 1)
    assert config.data.render.merged(poly.render).box_types == {"poly": 1.0}
    assert config.data.render.merged(hbb.render).box_types == {"hbb": 1.0}
    assert config.data.render.merged(hbb.render).styles == {"plain": 1.0}  # the global style still applies
    assert entries["refgeo_poly"].render.box_types == {"poly": 1.0}
    assert entries["refgeo_hbb"].render.box_types == {"hbb": 1.0}
    assert (entries["geochat_instruct"].repeat, entries["vhm_sft"].repeat) == (6, 8)
    assert entries["llava_onevision_vl"].fraction == 0.1 and entries["lrsvqa_train_zoom"].repeat == 2
    assert all(entries[name].render is None for name in ("geochat_instruct", "vhm_sft", "lrsvqa_train_zoom"))


def test_a_per_entry_convention_is_checked_against_the_model(tmp_path, demo_config_data):
    data = json.loads(json.dumps(demo_config_data))
    data["data"]["mixture"]["datasets"].append({"name": "ucmerced_1000", "path": "ucmerced.jsonl"})
    data["data"]["mixture"]["datasets"][-1]["render"] = {"convention": "relative1000"}
    result = run_validate(write(tmp_path, data))
    assert result.exit_code == 1
    assert "data.mixture.datasets[6].render.convention: 'relative1000' is not qwen2_5_vl's" in result.output
    config = load_config(RECIPE)
    assert (config.optim.lr, config.optim.scheduler, config.optim.warmup_ratio) == (2.0e-6, "cosine", 0.05)
    assert (config.optim.weight_decay, config.optim.epochs, config.data.max_length) == (0.1, 1, 6144)
    assert (config.data.resolution.min_pixels, config.data.resolution.max_pixels) == (64 * 28 * 28, 1296 * 28 * 28)
    assert config.optim.accumulation_steps(32) == 1 and config.optim.accumulation_steps(8) == 4


def test_configs_demo_yaml_is_the_demo_run():
    shipped = yaml.safe_load((CONFIGS / "demo.yaml").read_text(encoding="utf-8"))
    assert shipped == demo_config_data(Path("outputs/demo"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_deepspeed_configs(name):
    config = deepspeed_config(name)
    assert zero_stage(config) == {"zero1": 1, "zero2": 2, "zero3": 3, "zero3_offload": 3}[name]
    assert config["train_micro_batch_size_per_gpu"] == "auto" and "optimizer" not in config
    offloaded = "offload_optimizer" in config["zero_optimization"]
    assert offloaded == (name == "zero3_offload")


def test_a_deepspeed_json_path_is_read_and_checked(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{"zero_optimization": {"stage": 2}}', encoding="utf-8")
    assert zero_stage(deepspeed_config(str(path))) == 2
    path.write_text('{"zero_optimization": ', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: not valid JSON"):
        deepspeed_config(str(path))


def test_evaluation_reads_the_budget_from_the_checkpoint_and_follows_the_output(demo_dir):
    config = load_config(demo_dir / "demo.yaml")
    settings = evaluation_config(config, demo_dir / "run" / "final")
    assert settings.model == demo_dir / "run" / "final"
    assert settings.output_dir == config.output.dir / "eval"
    assert settings.resolution is None and settings.render is None  # the checkpoint's settings file decides
    saved = config.model_settings()
    assert saved.resolution == config.data.resolution and saved.render == config.data.render
    assert (saved.family, saved.convention, saved.max_length) == ("qwen2_5_vl", "absolute", config.data.max_length)
    assert saved.dataset_render["hrsc2016"].box_types == {"poly": 1.0}
    held_out = [b.key for b in settings.benchmarks if b.group == "Held-out samples"]
    assert held_out == ["ucmerced", "sydney-captions", "lrs-vqa", "lrs-vqa+zoom", "dior-rsvg", "dior-r"]


def _lose_images(path: Path, gone: Path) -> None:
    """Point every record of a records file at image files that do not exist."""
    records = list(read_records(path))
    for record in records:
        record.images[0].path = str(gone / Path(record.images[0].path).name)
    write_records(path, records)


def test_missing_images_are_problems_with_counts_and_examples(tmp_path, demo_dir):
    root = tmp_path / "records"
    shutil.copytree(demo_dir / "records", root)
    for name in ("train/ucmerced.jsonl", "heldout/dior_r.jsonl", "heldout/dior_rsvg.jsonl"):
        _lose_images(root / name, tmp_path / "gone")
    overrides = ["--set", f"data.root={root / 'train'}", "--set", f"evaluation.data_root={root}"]
    result = run_validate(demo_dir / "demo.yaml", *overrides)
    assert result.exit_code == 1
    assert f"data.mixture.datasets[4]: ucmerced: 4 image file(s) missing, e.g. {tmp_path / 'gone'}" in result.output
    assert "evaluation.benchmarks[0]: ucmerced-trained: 4 image file(s) missing" in result.output
    assert "evaluation.benchmarks[9]: dior-rsvg: 1 image file(s) missing" in result.output
    assert "evaluation.benchmarks[10]: dior-r: 1 image file(s) missing" in result.output
    assert "sydney" not in result.output.split("problem(s):")[1]  # the data sets whose images are there pass
    sampled = run_validate(demo_dir / "demo.yaml", *overrides, "--sample-images", "3")
    assert "ucmerced: 3 image file(s) missing (of 3 checked, 4 in all)" in sampled.output


def test_the_saved_config_reads_back_identically(demo_dir):
    config = load_config(demo_dir / "demo.yaml")
    again = parse_config(yaml.safe_load(config.to_yaml()))
    assert again == config
    saved = yaml.safe_load(config.to_yaml())["data"]["mixture"]["datasets"]
    assert saved[:2] == [
        {
            "name": "dota@poly",
            "path": None,
            "fraction": 1.0,
            "repeat": 1.0,
            "weight": None,
            "render": {"box_types": {"poly": 1.0}},
        },
        {
            "name": "hrsc2016",
            "path": None,
            "fraction": 1.0,
            "repeat": 6.0,
            "weight": None,
            "render": {"box_types": {"poly": 1.0}},
        },
    ]
    assert saved[2]["render"] is None
    recipe = load_config(RECIPE)
    assert parse_config(yaml.safe_load(recipe.to_yaml())) == recipe
