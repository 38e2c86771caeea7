"""Coordinate spaces: the quantisation rule, round trips and crop windows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from rs_resolution import CropWindow, ImageFrame, ResolutionPolicy, from_model, grid_extent, to_model

CONVENTIONS = ["absolute", "relative1000", "relative100", "relative1"]


def test_quantisation_rule_rounds_half_up_and_clips() -> None:
    frame = ImageFrame(width=100, height=200, resized_width=50, resized_height=100)
    points = np.array([[1.0, 1.0], [3.0, 5.0], [100.0, 200.0], [-4.0, 250.0], [0.999, 1.001]])
    np.testing.assert_array_equal(to_model(points, frame, "absolute"), [[1, 1], [2, 3], [50, 100], [0, 100], [0, 1]])
    # 0.5 and 2.5 both go up (Python's round would give 0 and 2)
    np.testing.assert_array_equal(to_model([[5.0, 5.0], [25.0, 25.0]], frame, "relative100"), [[5, 3], [25, 13]])
    assert to_model(points, frame, "absolute").dtype == np.int64
    relative = to_model(points, frame, "relative1")
    assert relative.dtype == np.float64
    np.testing.assert_allclose(relative[1], [0.03, 0.025])
    np.testing.assert_allclose(relative[3], [0.0, 1.0])


def test_from_model_does_not_clip() -> None:
    frame = ImageFrame(width=1000, height=500, resized_width=980, resized_height=504)
    np.testing.assert_allclose(from_model([[1000, 1100]], frame, "relative1000"), [[1000, 550]])
    np.testing.assert_allclose(from_model([[-10, 0]], frame, "absolute"), [[-10 * 1000 / 980, 0]])


def test_shapes_are_kept() -> None:
    frame = ImageFrame(width=640, height=480, resized_width=644, resized_height=476)
    polys = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    assert to_model(polys, frame, "absolute").shape == polys.shape
    assert from_model(to_model(polys, frame, "absolute"), frame, "absolute").shape == polys.shape


@pytest.mark.parametrize("bad", [np.zeros((3, 3)), np.zeros(()), [[np.nan, 1.0]], [[np.inf, 1.0]]])
def test_bad_points_are_rejected(bad) -> None:
    frame = ImageFrame(width=10, height=10, resized_width=28, resized_height=28)
    with pytest.raises(ValueError, match="points"):
        to_model(bad, frame, "absolute")


def test_unknown_convention_is_rejected() -> None:
    frame = ImageFrame(width=10, height=10, resized_width=28, resized_height=28)
    with pytest.raises(ValueError, match="unknown coordinate convention 'relative10'"):
        to_model([[1.0, 1.0]], frame, "relative10")  # type: ignore[arg-type]


frames = st.builds(
    lambda w, h, rw, rh: ImageFrame(width=w, height=h, resized_width=rw * 28, resized_height=rh * 28),
    st.integers(1, 20_000),
    st.integers(1, 20_000),
    st.integers(1, 200),
    st.integers(1, 200),
)


@settings(max_examples=400, deadline=None)
@given(frame=frames, fx=st.floats(0, 1), fy=st.floats(0, 1), convention=st.sampled_from(CONVENTIONS))
def test_round_trip_stays_within_half_a_grid_step(frame: ImageFrame, fx: float, fy: float, convention: str) -> None:
    point = np.array([[fx * frame.width, fy * frame.height]])
    back = from_model(to_model(point, frame, convention), frame, convention)
    extent_x, extent_y = grid_extent(frame, convention)
    step = (0.0, 0.0) if convention == "relative1" else (frame.width / extent_x, frame.height / extent_y)
    error = np.abs(back - point)[0]
    assert error[0] <= 0.5 * step[0] + 1e-9 * frame.width
    assert error[1] <= 0.5 * step[1] + 1e-9 * frame.height
    if convention == "absolute" and frame.resized_width >= frame.width / 2 and frame.resized_height >= frame.height / 2:
        assert error.max() <= 1.0 + 1e-9  # within one original pixel


@settings(max_examples=200, deadline=None)
@given(frame=frames, values=st.lists(st.integers(0, 1000), min_size=2, max_size=2))
def test_integers_read_back_write_the_same_integers(frame: ImageFrame, values: list[int]) -> None:
    """Reading model integers and writing them again is the identity (the codec round-trips model text)."""
    extent = np.array(grid_extent(frame, "absolute"), dtype=int)
    model = np.minimum(np.array([values]), extent)
    assert np.array_equal(to_model(from_model(model, frame, "absolute"), frame, "absolute"), model)
    model = np.array([values])
    assert np.array_equal(to_model(from_model(model, frame, "relative1000"), frame, "relative1000"), model)


def test_qwen25_absolute_coordinates_follow_the_resized_image() -> None:
    frame = ResolutionPolicy().frame(width=712, height=557)  # real DOTA P1888 size
    assert (frame.resized_width, frame.resized_height) == (700, 560)
    np.testing.assert_array_equal(to_model([[398.0, 716.0]], frame, "absolute"), [[391, 560]])


def test_image_frame_is_validated_and_frozen() -> None:
    with pytest.raises(ValidationError, match="resized_width"):
        ImageFrame(width=10, height=10, resized_width=0, resized_height=28)
    frame = ImageFrame(width=10, height=20, resized_width=28, resized_height=28)
    assert frame.size == (10, 20) and frame.resized_size == (28, 28)
    with pytest.raises(ValidationError):
        frame.width = 5  # type: ignore[misc]


def test_crop_window() -> None:
    window = CropWindow(x0=100, y0=50, x1=300, y1=150)
    assert (window.width, window.height, window.size) == (200, 100, (200, 100))
    points = np.array([[100.0, 50.0], [299.5, 149.0]])
    np.testing.assert_array_equal(window.to_crop(points), [[0, 0], [199.5, 99]])
    np.testing.assert_array_equal(window.to_full(window.to_crop(points)), points)
    with pytest.raises(ValidationError, match="empty"):
        CropWindow(x0=10, y0=0, x1=10, y1=5)


@settings(max_examples=200, deadline=None)
@given(
    x0=st.integers(0, 5000),
    y0=st.integers(0, 5000),
    w=st.integers(1, 5000),
    h=st.integers(1, 5000),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
)
def test_crop_then_model_coordinates_round_trip(x0: int, y0: int, w: int, h: int, fx: float, fy: float) -> None:
    """A point in the full image -> the crop -> the model's view of the crop -> back to the full image."""
    window = CropWindow(x0=x0, y0=y0, x1=x0 + w, y1=y0 + h)
    frame = ImageFrame(width=w, height=h, resized_width=28, resized_height=28)  # relative1000 ignores the resized size
    point = np.array([[x0 + fx * w, y0 + fy * h]])
    back = window.to_full(from_model(to_model(window.to_crop(point), frame, "relative1000"), frame, "relative1000"))
    assert np.all(np.abs(back - point) <= 0.5 * np.array([w, h]) / 1000 + 1e-9 * (x0 + y0 + w + h))
