"""The training configuration: one YAML file, validated once up front, saved beside each checkpoint.

Every section rejects unknown keys, and every error names the field path (``optim.lr``,
``data.mixture.datasets[2].weight``). Relative paths are relative to the directory the command runs in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from rs_data.config_files import ConfigError, load_yaml_config, validated
from rs_data.mixing import Mixture, parse_mixture_spec
from rs_data.render import RenderConfig
from rs_resolution import ResolutionPolicy
from rscovlm_eval.config import EvalConfig
from rscovlm_model.families import detect_family
from rscovlm_model.settings import ModelSettings
from rscovlm_model.training import LoraSettings

Precision = Literal["fp32", "bf16", "fp16"]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup", "cosine_with_min_lr"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSection(_Section):
    """Which checkpoint to fine-tune and which parts of it train."""

    path: Path = Field(description="local Hugging Face checkpoint directory (Qwen2.5-VL or Qwen3-VL)")
    family: Literal["auto", "qwen2_5_vl", "qwen3_vl"] = "auto"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["auto", "eager", "sdpa", "flash_attention_2"] = "auto"
    train_vision: bool = True
    train_merger: bool = True
    train_llm: bool = True
    lora: LoraSettings | None = Field(default=None, description="LoRA adapters; when set they decide what trains")

    @model_validator(mode="after")
    def _something_trains(self) -> ModelSection:
        if self.lora is None and not (self.train_vision or self.train_merger or self.train_llm):
            raise ValueError("nothing would train: enable one of train_vision, train_merger, train_llm or lora")
        return self


class DataSection(_Section):
    """What the model sees: the mixture, image resolution, rendering and sequence length."""

    root: Path = Field(default=Path("."), description="folder of the records files (a data set's default NAME.jsonl)")
    mixture: Mixture = Field(
        description="rs-data mixture: datasets (entries, or upstream spec strings such as 'dota@poly*25' or "
        "'vhm%10'; an entry's own 'render' settings replace data.render's for it), strategy, temperature, "
        "epoch_size, seed (default: the run's seed)"
    )
    resolution: ResolutionPolicy = Field(default_factory=ResolutionPolicy)
    render: RenderConfig = Field(
        default_factory=RenderConfig, description="render settings of every data set without its own 'render'"
    )
    max_length: int | None = Field(
        default=None, gt=0, description="longer samples are truncated, never inside an image"
    )
    packing: bool = Field(default=False, description="pack each batch's samples into one sequence (no padding)")
    num_workers: int = Field(default=0, ge=0)

    @field_validator("mixture", mode="before")
    @classmethod
    def _spec_strings(cls, mixture: Any) -> Any:
        if isinstance(mixture, str):
            mixture = {"datasets": [mixture]}
        if isinstance(mixture, dict) and isinstance(mixture.get("datasets"), list):
            datasets = []
            for item in mixture["datasets"]:
                datasets.extend(spec_entries(item) if isinstance(item, str) else [item])
            mixture = {**mixture, "datasets": datasets}
        return mixture

    @field_validator("mixture")
    @classmethod
    def _samples_drawn(cls, mixture: Mixture) -> Mixture:
        weights = [entry.weight for entry in mixture.datasets]
        if mixture.strategy == "weighted" and all(w is not None for w in weights) and sum(weights) <= 0:
            raise ValueError("the mixture weights sum to zero: no data set would ever be sampled")
        return mixture

    @model_validator(mode="after")
    def _packing_needs_length(self) -> DataSection:
        if self.packing and self.max_length is None:
            raise ValueError("packing needs max_length (the length of a packed sequence)")
        return self


class OptimSection(_Section):
    """Optimiser, schedule, batch and numerics."""

    lr: float = Field(gt=0)
    vision_lr: float | None = Field(default=None, gt=0, description="learning rate of the vision encoder")
    merger_lr: float | None = Field(default=None, gt=0, description="learning rate of the vision-language merger")
    weight_decay: float = Field(default=0.0, ge=0)
    scheduler: Scheduler = "cosine"
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, gt=0, description="overrides epochs when set")
    per_device_batch_size: int = Field(default=1, gt=0)
    gradient_accumulation_steps: int | None = Field(default=None, gt=0)
    global_batch_size: int | None = Field(
        default=None, gt=0, description="samples per optimiser step; sets gradient accumulation from the world size"
    )
    max_grad_norm: float = Field(default=1.0, ge=0)
    precision: Precision = "fp32"
    tf32: bool = False
    gradient_checkpointing: bool = False

    @model_validator(mode="after")
    def _one_batch_rule(self) -> OptimSection:
        if self.gradient_accumulation_steps is not None and self.global_batch_size is not None:
            raise ValueError("give either gradient_accumulation_steps or global_batch_size, not both")
        return self

    def accumulation_steps(self, world_size: int) -> int:
        """Gradient accumulation for ``world_size`` processes; raises when the global batch does not divide."""
        if self.global_batch_size is None:
            return self.gradient_accumulation_steps or 1
        per_step = self.per_device_batch_size * world_size
        if self.global_batch_size % per_step:
            raise ConfigError(
                [
                    (
                        "optim.global_batch_size",
                        f"{self.global_batch_size} is not a multiple of per_device_batch_size x world size "
                        f"= {self.per_device_batch_size} x {world_size}",
                    )
                ]
            )
        return self.global_batch_size // per_step


class DistributedSection(_Section):
    """Multi-process training; the launcher (torchrun, scripts/) sets ranks through the environment."""

    deepspeed: str | None = Field(
        default=None, description="zero1, zero2, zero3, zero3_offload (shipped configs) or a path to a JSON config"
    )


class OutputSection(_Section):
    """Where checkpoints and logs go."""

    dir: Path
    save_steps: int = Field(default=500, gt=0)
    save_total_limit: int | None = Field(default=2, gt=0, description="checkpoints kept; all when null")
    logging_steps: int = Field(default=10, gt=0)
    report_to: list[Literal["tensorboard", "wandb"]] = Field(default_factory=lambda: ["tensorboard"])
    run_name: str | None = None


class EvaluationSection(EvalConfig):
    """rscovlm-eval settings (``rscovlm-eval run --help``) for the final checkpoint.

    ``model`` is the final checkpoint and ``output_dir`` defaults to OUTPUT_DIR/eval; the pixel budgets and prompts
    default to the ones the model was trained with (read back from the checkpoint's settings file).
    """

    model: Path | None = None
    output_dir: Path | None = None


class TrainConfig(_Section):
    """A whole training run."""

    seed: int = 42
    model: ModelSection
    data: DataSection
    optim: OptimSection
    distributed: DistributedSection = Field(default_factory=DistributedSection)
    output: OutputSection
    evaluation: EvaluationSection | None = None

    @model_validator(mode="after")
    def _mixture_seed(self) -> TrainConfig:
        """The mixture samples with the run's seed unless it names its own."""
        if "seed" not in self.data.mixture.model_fields_set:
            self.data.mixture = self.data.mixture.model_copy(update={"seed": self.seed})
        return self

    def model_settings(self) -> ModelSettings:
        """What decides what the model sees, saved beside every checkpoint for evaluation to read back."""
        family = detect_family(self.model.path) if self.model.family == "auto" else self.model.family
        return ModelSettings(
            family=family,
            convention=self.data.render.convention,
            resolution=self.data.resolution,
            render=self.data.render,
            dataset_render={d.name: d.render for d in self.data.mixture.datasets if d.render is not None},
            max_length=self.data.max_length,
        )

    def to_yaml(self) -> str:
        """The resolved configuration as YAML (what is saved beside each checkpoint)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def spec_entries(spec: str) -> list[dict[str, Any]]:
    """Mixture entries of an upstream spec string: ``dota*25`` repeats 25 times, ``vhm%10`` keeps 10 %,
    ``dota@hbb`` renders DOTA's boxes as horizontal boxes only."""
    try:
        return [entry.model_dump(exclude_defaults=True) for entry in parse_mixture_spec(spec)]
    except ValueError as error:
        raise PydanticCustomError("mixture_spec", "{error}", {"error": str(error)}) from error


def parse_config(data: Any, source: str | None = None) -> TrainConfig:
    """Validate plain YAML data; raises `ConfigError` listing every problem with its field path."""
    return validated(TrainConfig, data, source)


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config, apply ``--set`` overrides, validate; raises `ConfigError`."""
    return load_yaml_config(TrainConfig, path, overrides)
