"""The settings that decide what a model saw in training, saved beside every checkpoint and read back by evaluation.

A model trained at one pixel budget answers in pixels of the images it was trained on, and a model trained with one
prompt wording expects it again: evaluation reads these settings from the checkpoint by default, so that a model is
scored on the pixels and prompts it was trained on. This module imports neither torch nor transformers.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rs_data.config_files import problems_from
from rs_data.render import RenderConfig, RenderOverride
from rs_resolution import Convention, ResolutionPolicy

from rscovlm_model.families import Family

SETTINGS_FILE = "rscovlm_settings.json"


class SettingsFileError(ValueError):
    """A checkpoint's settings file that cannot be read or is not valid."""


class ModelSettings(BaseModel):
    """Family and coordinate convention, the full resolution policy, the render settings and the sequence length
    a checkpoint was trained with."""

    model_config = ConfigDict(extra="forbid")

    family: Family
    convention: Convention
    resolution: ResolutionPolicy
    render: RenderConfig = Field(description="the render settings of every data set without its own")
    dataset_render: dict[str, RenderOverride] = Field(
        default_factory=dict, description="mixture entries' own render settings, by entry name"
    )
    max_length: int | None = None


def save_settings(folder: str | Path, settings: ModelSettings) -> Path:
    """Write `settings` into the checkpoint folder; returns the file written."""
    path = Path(folder) / SETTINGS_FILE
    path.write_text(settings.model_dump_json(indent=1), encoding="utf-8")
    return path


def load_settings(folder: str | Path) -> ModelSettings | None:
    """The settings saved in a checkpoint folder, or None for a checkpoint without them (a model from elsewhere).

    Raises `SettingsFileError` naming the file when it exists but cannot be used."""
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        return ModelSettings.model_validate_json(path.read_bytes())
    except ValidationError as error:
        problems = "; ".join(f"{where or '<root>'}: {message}" for where, message in problems_from(error))
        raise SettingsFileError(f"{path}: not valid checkpoint settings: {problems}") from error
