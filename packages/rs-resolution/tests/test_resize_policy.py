"""smart_resize rules, token cost, pixel budgets and random-resize augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError
from rs_resolution import (
    ImageFrame,
    PixelBudget,
    ResolutionPolicy,
    random_resize,
    resize_image,
    smart_resize,
    to_model,
    visual_tokens,
)


def test_round_half_to_even_like_python() -> None:
    assert smart_resize(70, 126) == (56, 112)  # 70/28 = 2.5 -> 2 ; 126/28 = 4.5 -> 4


def test_factor_32_for_qwen3() -> None:
    height, width = smart_resize(557, 712, factor=32)
    assert height % 32 == 0 and width % 32 == 0
    assert (height, width) == (544, 704)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-5, 10)])
def test_non_positive_sides_are_rejected(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        smart_resize(*size)


def test_extreme_aspect_ratio_is_rejected() -> None:
    assert smart_resize(10, 2000) == (28, 1988)
    with pytest.raises(ValueError, match="aspect ratio must be smaller than 200"):
        smart_resize(10, 2001)


def test_unknown_convention_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown smart_resize convention"):
        smart_resize(100, 100, convention="vllm")  # type: ignore[arg-type]


def test_visual_tokens() -> None:
    assert visual_tokens(560, 700) == 500
    assert visual_tokens(544, 704, factor=32) == 17 * 22
    with pytest.raises(ValueError, match="multiples of 28"):
        visual_tokens(557, 700)


def test_budget_precedence() -> None:
    detection = PixelBudget(min_pixels=4 * 784, max_pixels=1296 * 784)
    dota = PixelBudget(min_pixels=784, max_pixels=2048 * 784)
    policy = ResolutionPolicy(max_pixels=256 * 784, tasks={"detection": detection}, datasets={"dota": dota})
    assert policy.budget() == PixelBudget(min_pixels=4 * 784, max_pixels=256 * 784)
    assert policy.budget(task="detection") == detection
    assert policy.budget(dataset="dota", task="detection") == dota
    assert policy.budget(dataset="dior", task="captioning") == policy.budget()
    assert policy.resized_size(4000, 4000, task="detection") == smart_resize(4000, 4000, 28, 4 * 784, 1296 * 784)
    assert policy.resized_size(4000, 4000) == (448, 448)
    frame = policy.frame(width=800, height=600, dataset="dota")
    assert frame == ImageFrame(width=800, height=600, resized_width=812, resized_height=588)


def test_policy_validation_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"min_pixels .* must not exceed max_pixels"):
        ResolutionPolicy(min_pixels=1000, max_pixels=10)
    with pytest.raises(ValidationError, match=r"tasks\.detection"):
        ResolutionPolicy(tasks={"detection": {"min_pixels": 0, "max_pixels": 10}})
    with pytest.raises(ValidationError, match=r"tasks\.vqa\.max_pixels \(1000\) is below one patch of factor 32"):
        ResolutionPolicy(factor=32, tasks={"vqa": PixelBudget(min_pixels=1, max_pixels=1000)})
    with pytest.raises(ValidationError, match="extra"):
        ResolutionPolicy(max_pixel=10)  # type: ignore[call-arg]


def test_policy_round_trips_through_json() -> None:
    policy = ResolutionPolicy(
        factor=32, convention="transformers", tasks={"vqa": PixelBudget(min_pixels=1, max_pixels=9 * 32 * 32)}
    )
    assert ResolutionPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_random_resize_is_seeded_and_within_budget() -> None:
    min_pixels, max_pixels = 64 * 784, 1024 * 784
    draws = [random_resize(557, 712, min_pixels, max_pixels, 28, np.random.default_rng(s)) for s in range(50)]
    again = [random_resize(557, 712, min_pixels, max_pixels, 28, np.random.default_rng(s)) for s in range(50)]
    assert draws == again
    assert len(set(draws)) > 20
    for height, width in draws:
        assert height % 28 == 0 and width % 28 == 0
        assert min_pixels <= height * width <= max_pixels
        assert abs(width / height - 712 / 557) < 0.1
    areas = np.array([h * w for h, w in draws])
    assert areas.min() < 300 * 784 and areas.max() > 700 * 784  # spread over the budget, not stuck at one size


def test_random_resize_changes_the_image_and_its_boxes() -> None:
    """The augmentation acts on what the model sees: the pixels and the absolute box coordinates both follow it."""
    width, height = 712, 557
    policy = ResolutionPolicy(min_pixels=64 * 784, max_pixels=1024 * 784)
    base = policy.frame(width, height)
    augmented = policy.random_frame(width, height, np.random.default_rng(1))
    assert augmented == policy.random_frame(width, height, np.random.default_rng(1))
    assert augmented.resized_size != base.resized_size
    resized_height, resized_width = augmented.resized_height, augmented.resized_width
    image = Image.new("RGB", (width, height))
    assert resize_image(image, resized_height, resized_width).size == (resized_width, resized_height)
    box = np.array([[398.0, 494.0], [465.0, 518.0]])
    assert not np.array_equal(to_model(box, base, "absolute"), to_model(box, augmented, "absolute"))


def test_random_resize_rejects_bad_budget() -> None:
    with pytest.raises(ValueError, match="min_pixels <= max_pixels"):
        random_resize(100, 100, 10, 5, 28, np.random.default_rng(0))
