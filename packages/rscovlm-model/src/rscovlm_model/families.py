"""The Qwen-VL model families this package supports and how to recognise them.

Reading a family needs only ``config.json``: this module imports neither torch nor transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Family = Literal["qwen2_5_vl", "qwen3_vl"]


@dataclass(frozen=True)
class FamilySpec:
    """What differs between the families: vision patching, coordinate convention and transformers classes."""

    family: Family
    patch_size: int
    merge_size: int
    convention: Literal["absolute", "relative1000"]
    model_class: str
    processor_class: str
    video_processor_class: str
    chat_template: str

    @property
    def factor(self) -> int:
        """Side length in pixels of one LLM visual token (patch size times the 2x2 merge)."""
        return self.patch_size * self.merge_size


FAMILY_SPECS: dict[str, FamilySpec] = {
    "qwen2_5_vl": FamilySpec(
        family="qwen2_5_vl",
        patch_size=14,
        merge_size=2,
        convention="absolute",
        model_class="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        video_processor_class="Qwen2VLVideoProcessor",
        chat_template="qwen2_5_vl.jinja",
    ),
    "qwen3_vl": FamilySpec(
        family="qwen3_vl",
        patch_size=16,
        merge_size=2,
        convention="relative1000",
        model_class="Qwen3VLForConditionalGeneration",
        processor_class="Qwen3VLProcessor",
        video_processor_class="Qwen3VLVideoProcessor",
        chat_template="qwen3_vl.jinja",
    ),
}


def detect_family(path_or_config: str | Path | dict[str, Any] | Any) -> Family:
    """Return the family of a checkpoint directory, a ``config.json`` path, a config dict or a config object.

    Raises ``ValueError`` naming the source when the model type is not a supported Qwen-VL family.
    """
    source = path_or_config
    if isinstance(path_or_config, (str, Path)):
        path = Path(path_or_config)
        config_file = path / "config.json" if path.is_dir() else path
        if not config_file.is_file():
            raise ValueError(f"{config_file}: no config.json to detect the model family from")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{config_file}: not valid JSON ({error})") from error
        source = config_file
    elif isinstance(path_or_config, dict):
        config = path_or_config
    else:
        config = {"model_type": getattr(path_or_config, "model_type", None)}
    model_type = config.get("model_type")
    if model_type not in FAMILY_SPECS:
        supported = ", ".join(FAMILY_SPECS)
        raise ValueError(f"{source}: model_type {model_type!r} is not a supported family ({supported})")
    return model_type
