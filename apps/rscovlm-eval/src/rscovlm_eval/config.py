"""Evaluation configuration: one pydantic model, loadable from YAML, validated once up front.

A minimal YAML file::

    model: checkpoints/rscovlm-7b
    output_dir: outputs/eval
    benchmarks:
      - name: dota1.0
        data: DOTA/val            # relative paths resolve against data_root (default: DATA_ROOT/<name>)
      - name: lrs-vqa
        data: LRS-VQA/LRS_VQA_merged.jsonl
        images: LRS-VQA/image
        zoom: true
    data_root: /data/rs
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rs_data.config_files import ConfigError, read_yaml, validated, with_overrides
from rs_data.render import RenderOverride
from rs_detect_eval import BoxType, TextStyle
from rs_resolution import ResolutionPolicy
from rscovlm_model.settings import SETTINGS_FILE

from rscovlm_eval.registry import BENCHMARKS

__all__ = [
    "BenchmarkConfig",
    "ConfigError",
    "EvalConfig",
    "GenerationConfig",
    "PromptConfig",
    "ZoomConfig",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BenchmarkConfig(_Strict):
    """One benchmark to evaluate: a registry name and where its data lives."""

    name: str = Field(description="Registry name (see `rscovlm-eval list`).")
    data: Path | None = Field(
        default=None,
        description="The annotation file or folder the benchmark's reader expects; default: DATA_ROOT/<name>.",
    )
    images: Path | None = Field(default=None, description="Image folder, when the annotations do not carry paths.")
    format: str | None = Field(
        default=None, description="Override the registry's reader: an rs-data reader name, or 'records' for JSONL."
    )
    split: str | None = Field(default=None, description="Keep only records labelled with this split.")
    limit: int | None = Field(default=None, ge=1, description="Evaluate the first N samples only.")
    zoom: bool | None = Field(default=None, description="Run the Zoom-in Chain (UHR VQA); default from the registry.")
    box_type: BoxType | None = Field(
        default=None, description="Detection / grounding: the box type asked for here; default: the run's `prompt`."
    )
    zoom_skip_categories: list[str] | None = Field(
        default=None,
        description="With zoom, question categories answered without the chain; default from the registry "
        "(upstream RSCoVLM's: `count` on LRS-VQA, `count` and `position` on MME-RealWorld).",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Extra keyword options for the reader.")
    vqa_match: Literal["exact", "contains"] | None = Field(
        default=None,
        description="VQA answer rule: `exact` after normalisation, or upstream's `contains` (the ground truth occurs "
        "in the answer); default from the registry (contains for vrsbench-vqa).",
    )
    dense_det_clear_pred_for_empty_gt: bool = Field(
        default=False,
        description="Detection: drop the answers on images without ground truth before scoring (upstream's option, "
        "off by default).",
    )
    label: str | None = Field(default=None, description="Name shown in the report; defaults to `name`.")
    group: str | None = Field(
        default=None, description="Report section the benchmark is listed under (e.g. 'held-out samples')."
    )
    merge_patches: bool | None = Field(
        default=None,
        description="Detection: merge patch answers into full images before scoring (as DOTA_devkit); default: when "
        "every sample is a DOTA_devkit patch (`P0001__1__0___0`) of a scored benchmark.",
    )
    full_images: Path | None = Field(
        default=None,
        description="Detection on patches: the full-image data the patches were cut from, in the benchmark's public "
        "format (e.g. DOTA/val) or an rs-data records .jsonl; merged answers are scored against its labels.",
    )

    fixed_resolution: int | None = Field(
        default=None,
        ge=28,
        description="Show every image at about N x N pixels (min = max = N² pixels, as upstream's `_224`/`_336`/"
        "`_448`/`_1008` variants): a resolution-policy budget for this benchmark's records.",
    )
    shots: int = Field(default=0, ge=0, description="In-context examples before every prompt (0: zero-shot).")
    shot_selection: Literal["random", "per_class", "file"] = Field(
        default="random",
        description="How the examples are chosen: `random` (under the seed), `per_class` (one per class first), "
        "`file` (the ids in `shot_file`).",
    )
    shot_data: Path | None = Field(
        default=None, description="The training split the examples come from, in the benchmark's format (or .jsonl)."
    )
    shot_images: Path | None = Field(default=None, description="Image folder of `shot_data`; default: `images`.")
    shot_options: dict[str, Any] = Field(
        default_factory=dict, description="Reader options for `shot_data`, e.g. {split: train}."
    )
    shot_file: Path | None = Field(default=None, description="`shot_selection: file`: example ids, one a line.")

    @model_validator(mode="after")
    def _shots_need_a_pool(self) -> BenchmarkConfig:
        if self.shots and self.shot_data is None:
            raise ValueError("shots: set `shot_data` to the training split the examples come from")
        if self.shots and self.shot_selection == "file" and self.shot_file is None:
            raise ValueError("shot_selection: file needs `shot_file` (example ids, one a line)")
        if self.shots and self.zoom:
            raise ValueError("shots: in-context examples are not combined with the Zoom-in Chain")
        return self

    @field_validator("name")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {value!r}; known: {', '.join(BENCHMARKS)}")
        return value

    @model_validator(mode="after")
    def _zoom_needs_uhr(self) -> BenchmarkConfig:
        if self.zoom and BENCHMARKS[self.name].task != "uhr_vqa":
            raise ValueError(f"zoom: the Zoom-in Chain is for UHR VQA benchmarks, not {self.name!r}")
        return self

    @model_validator(mode="after")
    def _merge_needs_detection(self) -> BenchmarkConfig:
        if (self.merge_patches or self.full_images is not None) and BENCHMARKS[self.name].metric != "detection":
            raise ValueError(f"merge_patches/full_images: patch merging is for detection benchmarks, not {self.name!r}")
        return self

    @property
    def source(self) -> Path:
        """`data`, or the benchmark's name as a folder under data_root."""
        return self.data if self.data is not None else Path(self.name)

    @property
    def key(self) -> str:
        """The benchmark's name in the run folder and the report."""
        shots = f"+{self.shots}shot" if self.shots else ""
        size = f"@{self.fixed_resolution}" if self.fixed_resolution else ""
        return self.label or (f"{self.name}+zoom" if self.zoom else self.name) + size + shots


class GenerationConfig(_Strict):
    """Decoding settings passed to rscovlm_model.Generator."""

    batch_size: int = Field(default=8, ge=1)
    max_new_tokens: int = Field(default=1024, ge=1)


class PromptConfig(_Strict):
    """The one box type and text style every sample is asked in (training draws them per sample).

    Unset, each follows the checkpoint's training render settings: the most frequent choice there (ties: polygons,
    then oriented, then horizontal boxes for detection; horizontal boxes first for grounding; plain text first)."""

    box_type: BoxType | None = Field(default=None, description="Detection boxes.")
    grounding_box_type: BoxType | None = Field(default=None, description="Grounding boxes.")
    style: TextStyle | None = None


class ZoomConfig(_Strict):
    """Zoom-in Chain settings for UHR benchmarks."""

    max_rounds: int = Field(default=2, ge=1)


class InferenceConfig(_Strict):
    """Where answers come from and how the prediction cache treats failures and other runs."""

    backend: Literal["hf", "openai"] = Field(
        default="hf", description="'hf': load the checkpoint here; 'openai': an OpenAI-compatible server."
    )
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="openai: the server's API root.")
    model: str | None = Field(default=None, description="openai: the served model name; default: its only model.")
    concurrency: int = Field(default=8, ge=1, description="openai: requests in flight.")
    timeout_s: float = Field(default=600.0, gt=0, description="openai: seconds to wait for one answer.")
    retries: int = Field(default=3, ge=0, description="openai: retries of a failed request (exponential backoff).")
    backoff_s: float = Field(default=1.0, ge=0, description="openai: wait before the first retry, doubled after.")
    image_readers: int = Field(
        default=4, ge=1, description="Zoom-in Chains: threads reading the next chains' images while the model answers."
    )
    retry_errors: bool = Field(default=True, description="Predict again the samples cached with an error.")
    max_error_fraction: float = Field(
        default=0.0, ge=0, le=1, description="A benchmark with more failed samples than this is marked incomplete."
    )
    wait_for_lock: bool = Field(
        default=False, description="Wait for another run's lock on a benchmark shard instead of stopping."
    )
    lock_stale_s: float = Field(
        default=300.0, gt=0, description="A lock of another host not refreshed for this long is stale."
    )


class EvalConfig(_Strict):
    """Everything one evaluation run needs."""

    model: Path = Field(description="A local checkpoint folder (Qwen2.5-VL / Qwen3-VL, full or fine-tuned).")
    family: Literal["auto", "qwen2_5_vl", "qwen3_vl"] = "auto"
    dtype: str = "auto"
    device: str = Field(default="auto", description="'auto' (CUDA when available, else CPU), 'cpu', 'cuda:0' ...")
    attn_implementation: str = "auto"
    benchmarks: list[BenchmarkConfig] = Field(min_length=1)
    data_root: Path | None = Field(default=None, description="Base folder for relative benchmark paths.")
    output_dir: Path = Field(default=Path("outputs/eval"), description="Run folders are created inside.")
    run_name: str | None = Field(default=None, description="Run folder name; default: the model folder's name.")
    groups: dict[str, str] = Field(
        default_factory=dict, description="A note shown under each report section named by a benchmark's `group`."
    )
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    resolution: ResolutionPolicy | None = Field(
        default=None,
        description="Pixel budgets (rs-resolution's policy). Default: the checkpoint's training policy "
        f"({SETTINGS_FILE}), else the Qwen defaults; the fields given here replace the checkpoint's.",
    )
    render: RenderOverride | None = Field(
        default=None,
        description="Prompt templates and wording (rs-data's render settings). Default: the checkpoint's; the fields "
        "given here replace the checkpoint's.",
    )
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    zoom: ZoomConfig = Field(default_factory=ZoomConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    rank: int = Field(default=0, ge=0, description="This process's shard; default from $RANK.")
    world_size: int = Field(default=1, ge=1, description="Number of shards; default from $WORLD_SIZE.")
    seed: int = 0
    plots: bool = True
    html: bool = Field(default=False, description="Also write report.html (tables, plots, a gallery of drawn samples).")
    progress: bool = True

    @field_validator("benchmarks")
    @classmethod
    def _unique_keys(cls, value: list[BenchmarkConfig]) -> list[BenchmarkConfig]:
        keys = [b.key for b in value]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ValueError(f"benchmark names must be unique (set `label` to tell them apart): {duplicated}")
        return value

    @model_validator(mode="after")
    def _fixed_resolutions(self) -> EvalConfig:
        """A benchmark with `fixed_resolution` reads its records under its own dataset name, budgeted at N² pixels."""
        for bench in self.benchmarks:
            if bench.fixed_resolution is not None:
                if bench.format == "records":
                    raise ValueError(
                        f"{bench.key}: fixed_resolution renames the records' dataset, which a reader "
                        "does; with `format: records` set resolution.datasets instead"
                    )
                bench.options.setdefault("dataset", bench.key)  # its budget: see `model_settings.model_spec`
        return self

    @model_validator(mode="after")
    def _rank_in_range(self) -> EvalConfig:
        if self.rank >= self.world_size:
            raise ValueError(f"rank {self.rank} must be < world_size {self.world_size}")
        return self

    @property
    def run_dir(self) -> Path:
        """The folder that holds this run's predictions and report."""
        return self.output_dir / (self.run_name or self.model.name or "run")

    def resolve(self, path: Path) -> Path:
        """A benchmark path made absolute against `data_root`."""
        path = path.expanduser()
        if path.is_absolute() or self.data_root is None:
            return path
        return self.data_root.expanduser() / path

    def fingerprint(self) -> dict[str, Any]:
        """The run-wide settings that change predictions: a cache made under other settings is not reused.

        Each benchmark's own inputs are checked apart (see `BenchmarkConfig.inputs`).
        """
        return {
            "model": str(self.model),
            "family": self.family,
            "dtype": self.dtype,
            "generation": {"max_new_tokens": self.generation.max_new_tokens},
            "prompt": self.prompt.model_dump(mode="json"),
            "zoom": self.zoom.model_dump(mode="json"),
            "seed": self.seed,
        }


def _env_shard() -> dict[str, int]:
    """rank/world_size from torchrun-style environment variables, when set."""
    shard = {}
    for key, env in (("rank", "RANK"), ("world_size", "WORLD_SIZE")):
        if os.environ.get(env, "").isdigit():
            shard[key] = int(os.environ[env])
    return shard


def load_config(
    source: str | Path | dict[str, Any] | EvalConfig, overrides: list[str] | tuple[str, ...] = (), **values: Any
) -> EvalConfig:
    """Build an EvalConfig from a YAML path, a dict or a config, applying ``--set`` overrides (``a.b=c``) and then
    keyword values (None leaves a setting as it is).

    Raises `ConfigError` naming the file and every wrong field by its path (``benchmarks[0].name``).
    """
    origin = None
    if isinstance(source, EvalConfig):
        data = source.model_dump(exclude_unset=True)
    elif isinstance(source, dict):
        data = dict(source)
    else:
        origin = str(source)
        data = read_yaml(source)
    data = with_overrides(data, overrides, origin)
    for key, value in _env_shard().items():
        data.setdefault(key, value)
    data.update({k: v for k, v in values.items() if v is not None})
    return validated(EvalConfig, data, origin)
