"""What the evaluation asks the model, decided once per run: family, coordinate convention, pixel budgets, prompt
wording, and the one box type and text style every sample is asked in.

The checkpoint's own training settings (`rscovlm_model.settings`, saved beside every checkpoint by rscovlm-train)
are the default, so a model is scored on the pixels and prompts it was trained on. The eval config may change any of
them; each such change is recorded (`ModelSpec.overrides`) and named in the report. A checkpoint without settings (a
model from elsewhere) is evaluated with the Qwen defaults, named as such (`ModelSpec.sources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rs_data.config_files import ConfigError
from rs_data.render import RenderConfig
from rs_detect_eval import BoxType, TextStyle
from rs_resolution import ResolutionPolicy
from rscovlm_model.families import FAMILY_SPECS, detect_family
from rscovlm_model.settings import SETTINGS_FILE, ModelSettings, SettingsFileError, load_settings

from rscovlm_eval.config import EvalConfig

# When training drew several box types or styles equally often, the first of these is asked.
DETECTION_BOX_ORDER: tuple[BoxType, ...] = ("poly", "obb", "hbb")
GROUNDING_BOX_ORDER: tuple[BoxType, ...] = ("hbb", "poly", "obb")
STYLE_ORDER: tuple[TextStyle, ...] = ("plain", "json")


@dataclass(frozen=True)
class ModelSpec:
    """The resolved settings of one evaluation run (see the module docstring)."""

    family: str
    factor: int
    convention: str
    policy: ResolutionPolicy
    render: RenderConfig
    box_type: BoxType
    grounding_box_type: BoxType
    style: TextStyle
    sources: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)

    def render_for(self, task: str, box_type: BoxType | None = None) -> RenderConfig:
        """The render settings pinned to one box type (`box_type`, else the run's for `task`) and style, so that every
        sample of a benchmark is asked alike."""
        box_type = box_type or (self.grounding_box_type if task == "grounding" else self.box_type)
        return self.render.model_copy(
            update={"box_types": {box_type: 1.0}, "styles": {self.style: 1.0}, "random_resize_prob": 0.0}
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything, where each setting came from included."""
        return {**self.decisive(), "sources": dict(self.sources), "overrides": list(self.overrides)}

    def decisive(self) -> dict[str, Any]:
        """The settings that shape predictions, as JSON."""
        return {
            "family": self.family,
            "factor": self.factor,
            "convention": self.convention,
            "policy": self.policy.model_dump(mode="json"),
            "render": self.render.model_dump(mode="json"),
            "box_type": self.box_type,
            "grounding_box_type": self.grounding_box_type,
            "style": self.style,
        }


def model_spec(config: EvalConfig) -> ModelSpec:
    """Resolve the run's settings from the checkpoint's saved settings and the eval config."""
    try:
        family = detect_family(config.model) if config.family == "auto" else config.family
        trained = load_settings(config.model)
    except (ValueError, SettingsFileError) as error:
        raise ConfigError([("model", str(error))]) from error
    family_spec = FAMILY_SPECS[family]
    origin = _Provenance("checkpoint" if trained is not None else "default")
    if trained is not None:
        _check_trained(trained, family, family_spec.convention, config)
    policy = _policy(config, trained, family_spec.factor, origin)
    render = _render(config, trained, family_spec.convention, origin)
    prompt = config.prompt
    choices = {
        "box_type": (prompt.box_type, render.box_types, DETECTION_BOX_ORDER),
        "grounding_box_type": (prompt.grounding_box_type, render.box_types, GROUNDING_BOX_ORDER),
        "style": (prompt.style, render.styles, STYLE_ORDER),
    }
    chosen = {}
    for name, (given, weights, order) in choices.items():
        chosen[name] = given if given is not None else most_frequent(weights, order)
        origin.sources[f"prompt.{name}"] = "eval config" if given is not None else origin.base
    return ModelSpec(
        family=family,
        factor=family_spec.factor,
        convention=family_spec.convention,
        policy=policy,
        render=render,
        sources=origin.sources,
        overrides=origin.overrides,
        **chosen,
    )


def most_frequent(weights: dict[str, float], order: tuple[str, ...]) -> str:
    """The choice with the largest positive weight, ties broken by `order`."""
    candidates = [name for name in order if weights.get(name, 0) > 0]
    if not candidates:
        raise ConfigError([("render", f"none of {list(order)} has a positive weight in {weights}")])
    return max(candidates, key=lambda name: (weights[name], -order.index(name)))


def _check_trained(trained: ModelSettings, family: str, convention: str, config: EvalConfig) -> None:
    settings_file = config.model / SETTINGS_FILE
    if trained.family != family:
        raise ConfigError(
            [("family", f"{family!r}, but {settings_file} says the model was trained as {trained.family!r}")]
        )
    if trained.convention != convention:
        raise ConfigError(
            [
                (
                    "model",
                    f"{settings_file}: trained with coordinates {trained.convention!r}, not {family}'s {convention!r}",
                )
            ]
        )


@dataclass
class _Provenance:
    """Where the run's settings come from: `base` (the checkpoint or the defaults), and what the eval config changed."""

    base: str
    sources: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)


def _policy(config: EvalConfig, trained: ModelSettings | None, factor: int, origin: _Provenance) -> ResolutionPolicy:
    base = trained.resolution if trained is not None else ResolutionPolicy(factor=factor)
    origin.sources["resolution"] = origin.base
    given = config.resolution
    if given is None or not given.model_fields_set:
        return base
    if "factor" in given.model_fields_set and given.factor != factor:
        raise ConfigError([("resolution.factor", f"{given.factor} is not the {config.family} patch factor {factor}")])
    update = {name: getattr(given, name) for name in given.model_fields_set}
    origin.overrides += _differences("resolution", base.model_dump(mode="json"), update)
    origin.sources["resolution"] = f"eval config over {origin.base}"
    return ResolutionPolicy.model_validate({**base.model_dump(), **update})


def _render(config: EvalConfig, trained: ModelSettings | None, convention: str, origin: _Provenance) -> RenderConfig:
    base = trained.render if trained is not None else RenderConfig(convention=convention)
    origin.sources["render"] = origin.base
    given = config.render
    if given is not None and given.model_fields_set:
        merged = base.merged(given)
        origin.overrides += _differences(
            "render", base.model_dump(mode="json"), given.model_dump(mode="json"), merged.model_dump(mode="json")
        )
        origin.sources["render"] = f"eval config over {origin.base}"
        base = merged
    if base.convention != convention:
        raise ConfigError([("render.convention", f"{base.convention!r} is not the model's convention {convention!r}")])
    return base


def _differences(
    prefix: str, before: dict[str, Any], given: dict[str, Any], after: dict[str, Any] | None = None
) -> list[str]:
    """``"resolution.max_pixels: 50176 -> 1003520"`` for every given setting that changes the base value."""
    after = after if after is not None else {**before, **given}
    lines = []
    for name in given:
        old, new = before.get(name), after.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            lines += _differences(f"{prefix}.{name}", old, {k: new[k] for k in new if new.get(k) != old.get(k)}, new)
        elif old != new:
            lines.append(f"{prefix}.{name}: {old!r} -> {new!r}")
    return lines
