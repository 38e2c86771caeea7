"""The evaluation reads what the model saw from the checkpoint; the eval config may change it, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rs_data.render import RenderConfig
from rs_resolution import ResolutionPolicy
from rscovlm_eval.config import ConfigError, load_config
from rscovlm_eval.model_settings import model_spec
from rscovlm_model.settings import SETTINGS_FILE, ModelSettings, save_settings

TRAINED = ResolutionPolicy(
    min_pixels=3136, max_pixels=50176, tasks={"detection": {"min_pixels": 3136, "max_pixels": 200704}}
)


def _checkpoint(root: Path, family: str = "qwen2_5_vl", **settings) -> Path:
    folder = root / f"ckpt-{family}"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": family}))
    if settings:
        save_settings(folder, ModelSettings(family=family, **settings))
    return folder


def _config(model: Path, **values):
    return load_config({"model": str(model), "benchmarks": [{"name": "dior-rsvg"}], **values})


def test_the_checkpoint_settings_are_the_default(tmp_path: Path) -> None:
    render = RenderConfig(box_types={"hbb": 1.0}, templates={"grounding_plain": "where is the {expression}?"})
    model = _checkpoint(tmp_path, convention="absolute", resolution=TRAINED, render=render, max_length=2048)
    spec = model_spec(_config(model))
    assert spec.policy == TRAINED
    assert spec.render_for("grounding").templates.grounding_plain == "where is the {expression}?"
    assert (spec.box_type, spec.grounding_box_type, spec.style) == ("hbb", "hbb", "plain")  # only hbb was trained
    assert spec.sources["resolution"] == "checkpoint" and spec.overrides == []


def test_an_eval_setting_replaces_only_what_it_names_and_is_recorded(tmp_path: Path) -> None:
    model = _checkpoint(tmp_path, convention="absolute", resolution=TRAINED, render=RenderConfig())
    spec = model_spec(
        _config(model, resolution={"max_pixels": 1003520}, render={"templates": {"captioning": "Caption"}})
    )
    assert spec.policy.max_pixels == 1003520
    assert spec.policy.tasks == TRAINED.tasks and spec.policy.min_pixels == 3136  # kept from the checkpoint
    assert spec.render.templates.captioning == "Caption"
    assert "resolution.max_pixels: 50176 -> 1003520" in spec.overrides
    assert any(line.startswith("render.templates.captioning:") for line in spec.overrides)
    assert spec.sources["resolution"] == "eval config over checkpoint"


@pytest.mark.parametrize(("family", "factor"), [("qwen2_5_vl", 28), ("qwen3_vl", 32)])
def test_a_checkpoint_without_settings_gets_the_named_defaults(tmp_path: Path, family: str, factor: int) -> None:
    spec = model_spec(_config(_checkpoint(tmp_path, family)))
    assert spec.policy == ResolutionPolicy(factor=factor)
    assert spec.sources["resolution"] == "default" and spec.sources["render"] == "default"
    assert spec.render.convention == ("absolute" if family == "qwen2_5_vl" else "relative1000")


def test_settings_that_contradict_the_model_are_refused(tmp_path: Path) -> None:
    model = _checkpoint(tmp_path, convention="relative1000", resolution=TRAINED, render=RenderConfig())
    with pytest.raises(ConfigError, match="trained with coordinates 'relative1000'"):
        model_spec(_config(model))
    (model / SETTINGS_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match=SETTINGS_FILE):
        model_spec(_config(model))


def test_null_sections_load_as_unset(tmp_path: Path) -> None:
    data = {"model": str(_checkpoint(tmp_path)), "benchmarks": [{"name": "aid"}], "resolution": None, "render": None}
    config = load_config(data)
    assert config.resolution is None and config.render is None
