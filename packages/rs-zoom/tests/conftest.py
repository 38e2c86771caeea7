"""Shared helpers: images whose pixels encode their own coordinates, so a crop shows where it was cut from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image


def coordinate_image(width: int, height: int) -> Image.Image:
    """RGB image (up to 4096 a side) where pixel (x, y) is (x % 256, y % 256, x // 256 + 16 * (y // 256))."""
    assert width <= 4096 and height <= 4096
    x = np.arange(width)[None, :].repeat(height, 0)
    y = np.arange(height)[:, None].repeat(width, 1)
    pixels = np.stack([x % 256, y % 256, x // 256 + 16 * (y // 256)], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels)


def pixel_xy(image: Image.Image, x: int = 0, y: int = 0) -> tuple[int, int]:
    """The original coordinates encoded in pixel (x, y) of a crop of a `coordinate_image`."""
    r, g, b = image.getpixel((x, y))
    return r + 256 * (b % 16), g + 256 * (b // 16)


Reply = str | Callable[[list[dict]], str]


class ScriptedModel:
    """A fake batched `generate`: each chain (keyed by its question) replies from its own script, in order."""

    def __init__(self, scripts: dict[str, Sequence[Reply]]):
        self.scripts = {question: list(replies) for question, replies in scripts.items()}
        self.batch_sizes: list[int] = []
        self.seen: list[list[dict]] = []

    def __call__(self, conversations: list[list[dict]]) -> list[str]:
        self.batch_sizes.append(len(conversations))
        replies = []
        for conversation in conversations:
            self.seen.append(conversation)
            question = next(key for key in self.scripts if key in _first_user_text(conversation))
            reply = self.scripts[question].pop(0)
            replies.append(reply(conversation) if callable(reply) else reply)
        return replies


def _first_user_text(conversation: list[dict]) -> str:
    user = next(m for m in conversation if m["role"] == "user")
    return next(part["text"] for part in user["content"] if part["type"] == "text")


def images_in(conversation: list[dict]) -> list[dict]:
    """Every image part of a conversation, in order."""
    return [part for m in conversation for part in m["content"] if part["type"] == "image"]


@pytest.fixture(scope="session")
def coordinate_png(tmp_path_factory) -> str:
    """A 3000 x 2000 PNG whose pixels encode their coordinates."""
    path = tmp_path_factory.mktemp("images") / "coords.png"
    coordinate_image(3000, 2000).save(path)
    return str(path)


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The helpers above, for test modules (conftest is not importable under --import-mode=importlib)."""
    return SimpleNamespace(
        coordinate_image=coordinate_image, pixel_xy=pixel_xy, ScriptedModel=ScriptedModel, images_in=images_in
    )
