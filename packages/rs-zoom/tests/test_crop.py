import pytest
from hypothesis import given
from hypothesis import strategies as st
from rs_zoom import CropPolicy, RegionOutsideImageError, clamp_region, crop_window


def test_margin_grows_each_side_by_a_fraction_of_the_box():
    window = crop_window([1000, 1000, 1400, 1200], (5000, 4000), CropPolicy(margin=0.25, min_size=1))
    assert (window.x0, window.y0, window.x1, window.y1) == (900, 950, 1500, 1250)


def test_min_size_is_centred_on_the_box():
    window = crop_window([500, 500, 510, 520], (5000, 4000), CropPolicy(margin=0, min_size=224))
    assert window.size == (224, 224)
    assert (window.x0 + window.x1) / 2 == pytest.approx(505, abs=1)
    assert (window.y0 + window.y1) / 2 == pytest.approx(510, abs=1)


def test_aspect_ratio_limit_widens_the_short_side():
    window = crop_window([0, 100, 4000, 102], (5000, 4000), CropPolicy(margin=0, min_size=1, max_aspect_ratio=10))
    assert window.size == (4000, 400)


def test_window_is_shifted_not_shrunk_at_the_border():
    window = crop_window([4990, 3990, 5000, 4000], (5000, 4000), CropPolicy(margin=0, min_size=300))
    assert (window.x0, window.y0, window.x1, window.y1) == (4700, 3700, 5000, 4000)


def test_image_smaller_than_min_size_gives_the_whole_image():
    window = crop_window([10, 10, 20, 20], (100, 60), CropPolicy(min_size=224))
    assert (window.x0, window.y0, window.x1, window.y1) == (0, 0, 100, 60)


def test_reversed_and_overhanging_boxes_are_ordered_and_clipped():
    region, clipped = clamp_region([900, 700, -50, 100], (800, 600))
    assert region == (0, 100, 800, 600) and clipped
    assert clamp_region([1, 2, 3, 4], (800, 600)) == ((1, 2, 3, 4), False)


@pytest.mark.parametrize("box", [[900, 10, 1000, 20], [-20, -20, 0, 0], [10, 600, 20, 700], [-5, 10, -1, 20]])
def test_box_outside_the_image_raises(box):
    with pytest.raises(RegionOutsideImageError, match="outside the 800x600 image"):
        crop_window(box, (800, 600))


@given(
    width=st.integers(1, 20000),
    height=st.integers(1, 20000),
    fx=st.tuples(st.floats(-0.2, 1.2), st.floats(-0.2, 1.2)),
    fy=st.tuples(st.floats(-0.2, 1.2), st.floats(-0.2, 1.2)),
    margin=st.floats(0, 1),
    min_size=st.integers(1, 2000),
)
def test_window_lies_in_the_image_and_covers_the_region(width, height, fx, fy, margin, min_size):
    box = [fx[0] * width, fy[0] * height, fx[1] * width, fy[1] * height]
    try:
        region, _ = clamp_region(box, (width, height))
    except RegionOutsideImageError:
        return
    policy = CropPolicy(margin=margin, min_size=min_size)
    window = crop_window(box, (width, height), policy)
    assert 0 <= window.x0 < window.x1 <= width and 0 <= window.y0 < window.y1 <= height
    assert window.x0 <= region[0] and region[2] <= window.x1
    assert window.y0 <= region[1] and region[3] <= window.y1
    assert window.width >= min(min_size, width) and window.height >= min(min_size, height)
