"""Exact agreement with the reference implementations: qwen-vl-utils 0.0.11 and transformers' Qwen2-VL processor.

The references are test oracles only (they import torch); this is the one test module that imports them.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from rs_resolution import load_image, resize_image, smart_resize

qwen_vision = pytest.importorskip("qwen_vl_utils.vision_process")
qwen2_vl_image = pytest.importorskip("transformers.models.qwen2_vl.image_processing_qwen2_vl")

DATA = Path(__file__).parent / "data"
REFERENCES = {"qwen-vl-utils": qwen_vision.smart_resize, "transformers": qwen2_vl_image.smart_resize}
BUDGETS = [
    (4 * 28 * 28, 16384 * 28 * 28),  # qwen-vl-utils defaults
    (56 * 56, 14 * 14 * 4 * 1280),  # transformers defaults
    (4 * 28 * 28, 1296 * 28 * 28),  # a detection budget
    (256 * 28 * 28, 256 * 28 * 28),  # min == max
    (1, 784),  # one patch at most
    (100_000, 100_001),
    (3136, 1_000_000),
]


def test_oracle_is_the_pinned_release() -> None:
    assert version("qwen-vl-utils") == "0.0.11"


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError as error:
        return ("ValueError", str(error))


def _random_sizes(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """Tiny, ordinary, huge and extreme-aspect sizes (some beyond the 200:1 limit)."""
    sizes = []
    for _ in range(n):
        kind = rng.integers(5)
        if kind == 0:
            h, w = rng.integers(1, 64, size=2)
        elif kind == 1:
            h, w = rng.integers(1, 5000, size=2)
        elif kind == 2:
            h, w = rng.integers(1, 200_000, size=2)
        elif kind == 3:
            h = rng.integers(1, 300)
            w = h * 200 + rng.integers(-2, 3)
        else:
            h = rng.integers(1, 2000)
            w = max(1, int(h * rng.uniform(0.002, 500)))
        sizes.append((int(h), int(w)) if rng.random() < 0.5 else (int(w), int(h)))
    return sizes


@pytest.mark.parametrize("convention", ["qwen-vl-utils", "transformers"])
def test_smart_resize_matches_reference_on_random_sizes(convention: str) -> None:
    reference = REFERENCES[convention]
    rng = np.random.default_rng(20251127)
    sizes = _random_sizes(rng, 4000)
    checked = 0
    for i, (h, w) in enumerate(sizes):
        factor = (28, 32, 14)[i % 3]
        min_pixels, max_pixels = BUDGETS[i % len(BUDGETS)]
        expected = _outcome(reference, h, w, factor, min_pixels, max_pixels)
        got = _outcome(smart_resize, h, w, factor, min_pixels, max_pixels, convention)
        assert got == expected, (h, w, factor, min_pixels, max_pixels)
        checked += expected[0] != "ValueError"
    assert checked > 3000  # most cases are valid sizes, not just errors


@settings(max_examples=300, deadline=None)
@given(
    height=st.integers(1, 40_000),
    width=st.integers(1, 40_000),
    factor=st.sampled_from([28, 32]),
    budget=st.sampled_from(BUDGETS),
    convention=st.sampled_from(sorted(REFERENCES)),
)
def test_smart_resize_matches_reference_property(height, width, factor, budget, convention) -> None:
    reference = REFERENCES[convention]
    expected = _outcome(reference, height, width, factor, *budget)
    assert _outcome(smart_resize, height, width, factor, *budget, convention) == expected


@pytest.mark.parametrize(
    ("height", "width"),
    [(70, 126), (14, 14), (1, 1), (27, 5000), (3, 601), (3, 600), (56 * 300, 56), (8000, 9000)],
)
@pytest.mark.parametrize("convention", ["qwen-vl-utils", "transformers"])
def test_smart_resize_edge_cases(height: int, width: int, convention: str) -> None:
    expected = _outcome(REFERENCES[convention], height, width, 28, 4 * 28 * 28, 16384 * 28 * 28)
    assert _outcome(smart_resize, height, width, 28, 4 * 28 * 28, 16384 * 28 * 28, convention) == expected


def test_conventions_differ_where_documented() -> None:
    # qwen-vl-utils raises a small side to one factor before checking the budget; transformers does not.
    assert smart_resize(10, 100, 28, 1, 784 * 4) == (28, 112)
    assert smart_resize(10, 100, 28, 1, 784 * 4, convention="transformers") == (28, 28)
    differing = [
        (h, w)
        for h in range(1, 60)
        for w in range(1, 60)
        if smart_resize(h, w, 28, 1, 784 * 4) != smart_resize(h, w, 28, 1, 784 * 4, convention="transformers")
    ]
    assert differing, "the two conventions must differ on some tiny image"
    for h, w in differing:
        assert smart_resize(h, w, 28, 1, 784 * 4) == qwen_vision.smart_resize(h, w, 28, 1, 784 * 4)
        assert smart_resize(h, w, 28, 1, 784 * 4, convention="transformers") == qwen2_vl_image.smart_resize(
            h, w, 28, 1, 784 * 4
        )


def _rgba_png(path: Path) -> Path:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(61, 97, 4), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _grey_png(path: Path) -> Path:
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 256, size=(300, 45), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("source", ["dior", "rgba", "grey"])
@pytest.mark.parametrize(("factor", "max_pixels"), [(28, 16384 * 28 * 28), (28, 256 * 28 * 28), (32, 64 * 32 * 32)])
def test_prepared_pixels_equal_fetch_image(tmp_path: Path, source: str, factor: int, max_pixels: int) -> None:
    path = {"dior": lambda: DATA / "dior_00001.jpg", "rgba": lambda: _rgba_png(tmp_path / "a.png"),
            "grey": lambda: _grey_png(tmp_path / "g.png")}[source]()  # fmt: skip
    expected = qwen_vision.fetch_image({"image": str(path), "max_pixels": max_pixels}, size_factor=factor)
    image = load_image(path)
    height, width = smart_resize(image.height, image.width, factor, max_pixels=max_pixels)
    ours = resize_image(image, height, width)
    assert ours.size == expected.size
    assert ours.mode == expected.mode == "RGB"
    assert np.array_equal(np.asarray(ours), np.asarray(expected))


def test_hf_processor_does_not_resize_a_prepared_image() -> None:
    min_pixels, max_pixels = 4 * 28 * 28, 512 * 28 * 28
    processor = qwen2_vl_image.Qwen2VLImageProcessor(size={"shortest_edge": min_pixels, "longest_edge": max_pixels})
    image = load_image(DATA / "dior_00001.jpg")
    height, width = smart_resize(image.height, image.width, 28, min_pixels, max_pixels)
    prepared = resize_image(image, height, width)
    resized = processor(images=[prepared], return_tensors="np")
    untouched = processor(images=[prepared], do_resize=False, return_tensors="np")
    assert resized["image_grid_thw"].tolist() == [[1, height // 14, width // 14]]
    assert np.array_equal(resized["pixel_values"], untouched["pixel_values"])
