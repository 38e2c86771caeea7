"""Session-wide tiny checkpoints (built once) and the conversations the tests encode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rs_zoom import ZOOMED_PROMPT, format_tool_call, tool_system_prompt, zoom_question
from rscovlm_model import FAMILY_SPECS, IGNORE_INDEX, load_model, load_processor
from rscovlm_model.testing import tiny_checkpoint, tiny_checkpoints  # noqa: F401

DATA = Path(__file__).parent / "data"
# Both images are downscaled copies of real samples (see data/README.md).
DIOR = DATA / "dior_00001_160.jpg"
DOTA = DATA / "dota_P1888_178x139.jpg"


@dataclass
class Tiny:
    """A loaded tiny model with the helpers tests build conversations with."""

    family: str
    factor: int
    model: Any
    processor: Any
    dior: Path = DIOR
    dota: Path = DOTA

    def image_part(self, source: Any, rows: int, cols: int) -> dict[str, Any]:
        return image_part(source, self.factor, rows, cols)

    def conversations(self) -> dict[str, list[dict[str, Any]]]:
        return conversations(self.family)

    def supervised_runs(self, sample: Any) -> list[str]:
        """The decoded text of each contiguous run of supervised tokens of an encoded sample."""
        kept = (sample.labels != IGNORE_INDEX).tolist()
        runs, current = [], []
        for token, keep in zip(sample.input_ids.tolist(), kept, strict=True):
            if keep:
                current.append(token)
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        return [self.processor.tokenizer.decode(run) for run in runs]


@pytest.fixture(scope="session", params=sorted(FAMILY_SPECS))
def tiny(tiny_checkpoints: dict[str, Path], request: pytest.FixtureRequest) -> Tiny:  # noqa: F811
    """A loaded tiny model and processor (float32, sdpa), once per family."""
    path = tiny_checkpoints[request.param]
    model = load_model(path, dtype="float32", attn_implementation="sdpa")
    return Tiny(request.param, FAMILY_SPECS[request.param].factor, model, load_processor(path))


def image_part(source: Any, factor: int, rows: int, cols: int) -> dict[str, Any]:
    return {"type": "image", "image": source, "resized_height": rows * factor, "resized_width": cols * factor}


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


ZOOM_BOX = {"absolute": [12, 40, 96, 120], "relative1000": [67, 288, 539, 863]}


def conversations(family: str) -> dict[str, list[dict[str, Any]]]:
    """A caption, a one-round zoom chain in rs-zoom's protocol (two assistant turns, the crop a PIL image) and a
    text-only exchange."""
    factor, convention = FAMILY_SPECS[family].factor, FAMILY_SPECS[family].convention
    crop = Image.open(DOTA).convert("RGB").crop((20, 10, 120, 90))
    return {
        "caption": [
            {"role": "user", "content": [image_part(str(DIOR), factor, 2, 3), text("Describe this image.")]},
            {"role": "assistant", "content": [text("A playground with green trees around it.")]},
        ],
        "zoom": [
            {"role": "system", "content": [text(tool_system_prompt(convention))]},
            {
                "role": "user",
                "content": [image_part(str(DOTA), factor, 4, 4), text(zoom_question("How many planes are there?"))],
            },
            {"role": "assistant", "content": [text(format_tool_call(ZOOM_BOX[convention]))]},
            {"role": "user", "content": [image_part(crop, factor, 2, 2), text(ZOOMED_PROMPT)]},
            {"role": "assistant", "content": [text("3")]},
        ],
        "text_only": [
            {"role": "user", "content": "Is there a harbor in a rural area?"},
            {"role": "assistant", "content": "no"},
        ],
    }
