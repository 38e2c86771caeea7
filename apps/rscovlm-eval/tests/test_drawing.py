"""Drawing lands on the right pixels: the images here encode each pixel's own coordinates in its colour, so the
pixels a drawn outline changed tell which original coordinates it passed through.

Model answers are read with `parse_objects` (as the metrics read them) in both coordinate conventions; every
expected coordinate below is worked out by hand from the frame 500 x 400 seen by the model at 250 x 200.
"""

import numpy as np
import pytest
from PIL import Image
from rs_detect_eval import parse_objects
from rs_resolution import ImageFrame
from rscovlm_eval.drawing import PREDICTION, Shape, crop_panel, downscale, draw_shapes

FRAME = ImageFrame(width=500, height=400, resized_width=250, resized_height=200)
# The box x 100..300, y 80..240 in original pixels: absolute = original x 250/500, y 200/400 (both one half);
# relative1000 = original x 1000/500 (x2), y 1000/400 (x2.5).
HBB_ANSWERS = {"absolute": "50,40,150,120 plane", "relative1000": "200,200,600,600 plane"}
# The same box as an OBB (cx, cy, w, h, angle): centre (200, 160), 200 x 160, angle 0, in each convention.
OBB_ANSWERS = {"absolute": "100,80,100,80,0 plane", "relative1000": "400,400,400,400,0 plane"}
# A diamond with corners (250, 100), (350, 200), (250, 300), (150, 200) in original pixels.
DIAMOND = [(250, 100), (350, 200), (250, 300), (150, 200)]
DIAMOND_ANSWERS = {
    "absolute": "125,50,175,100,125,150,75,100 plane",
    "relative1000": "500,250,700,500,500,750,300,500 plane",
}


def coordinate_image(width: int = 500, height: int = 400) -> Image.Image:
    """Pixel (x, y) is (x mod 256, y mod 256, x // 256 + 4 * (y // 256)): every pixel's colour is unique."""
    y, x = np.mgrid[0:height, 0:width]
    return Image.fromarray(np.stack([x % 256, y % 256, x // 256 + 4 * (y // 256)], axis=-1).astype(np.uint8))


def decode(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The original (x, y) a coordinate_image pixel colour stands for."""
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    return r + 256 * (b % 4), g + 256 * (b // 4)


def changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    return np.any(np.asarray(before) != np.asarray(after), axis=-1)


def parsed_polygon(answer: str, convention: str, box_type: str) -> tuple[float, ...]:
    result = parse_objects(answer, box_type, FRAME, convention, classes=["plane"])
    assert len(result.objects) == 1 and not result.dropped
    return tuple(float(v) for v in result.objects[0].polygon)


def on_box_outline(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pixels of the outline of x 100..300, y 80..240 (PIL outlines pass through the corner pixels)."""
    return ((np.isin(x, [100, 300])) & (y >= 80) & (y <= 240)) | ((np.isin(y, [80, 240])) & (x >= 100) & (x <= 300))


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
@pytest.mark.parametrize(("box_type", "answers"), [("hbb", HBB_ANSWERS), ("obb", OBB_ANSWERS)])
def test_box_from_an_answer_lands_on_its_pixels(convention, box_type, answers):
    polygon = parsed_polygon(answers[convention], convention, box_type)
    image = coordinate_image()
    drawn = draw_shapes(image.copy(), [Shape(polygon, PREDICTION)], (1.0, 1.0), width=1, font_size=0)
    x, y = decode(np.asarray(image))
    assert np.array_equal(changed(image, drawn), on_box_outline(x, y))
    assert tuple(np.asarray(drawn)[80, 200]) == PREDICTION  # top edge, midway


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_box_on_a_thumbnail_lands_on_the_downscaled_pixels(convention):
    """Halved by area averaging, thumbnail pixel (u, v) covers original columns 2u, 2u+1 and rows 2v, 2v+1; an
    image whose pixel (x, y) is (x // 2, y // 2, 0) shows that in the thumbnail's own colours."""
    polygon = parsed_polygon(HBB_ANSWERS[convention], convention, "hbb")
    y, x = np.mgrid[0:400, 0:500]
    image = Image.fromarray(np.stack([x // 2, y // 2, np.zeros_like(x)], axis=-1).astype(np.uint8))
    thumbnail, scale = downscale(image, 250)
    assert thumbnail.size == (250, 200) and scale == (0.5, 0.5)
    drawn = draw_shapes(thumbnail.copy(), [Shape(polygon, PREDICTION)], scale, width=1, font_size=0)
    pixels = np.asarray(thumbnail).astype(int)
    first_x, first_y = 2 * pixels[..., 0], 2 * pixels[..., 1]  # the first original column / row each pixel covers
    # the box's corner columns (100, 300) and rows (80, 240) are even: each is the first of one thumbnail block
    assert np.array_equal(changed(thumbnail, drawn), on_box_outline(first_x, first_y))


def distance_to_outline(x: np.ndarray, y: np.ndarray, corners: list[tuple[int, int]]) -> np.ndarray:
    """Distance of each point to the closed polygon through `corners`."""
    best = np.full(x.shape, np.inf)
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(x - (ax + t * dx), y - (ay + t * dy)))
    return best


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_rotated_polygon_lands_on_its_pixels(convention):
    polygon = parsed_polygon(DIAMOND_ANSWERS[convention], convention, "poly")
    image = coordinate_image()
    drawn = draw_shapes(image.copy(), [Shape(polygon, PREDICTION)], (1.0, 1.0), width=1, font_size=0)
    mask = changed(image, drawn)
    x, y = decode(np.asarray(image)[mask])
    assert mask.sum() == 4 * 100  # four 45-degree edges, 101 pixels each (one per column), sharing the corners
    assert distance_to_outline(x, y, DIAMOND).max() <= 1.0
    for cx, cy in DIAMOND:
        assert mask[cy, cx], (cx, cy)


def test_zoom_crop_shows_shapes_at_their_place_in_the_window():
    """A crop of window (60, 50, 360, 290) drawn at full size: its pixel colours still decode to original
    coordinates, and the box drawn on it passes through the same original pixels as on the overview."""
    image = coordinate_image()
    box = Shape((100.0, 80.0, 300.0, 80.0, 300.0, 240.0, 100.0, 240.0), PREDICTION)
    crop = crop_panel(image, (60, 50, 360, 290), [], None)
    drawn = crop_panel(image, (60, 50, 360, 290), [box], None, width=1)
    assert crop.size == (300, 240)
    x, y = decode(np.asarray(crop))
    assert x[0, 0] == 60 and y[0, 0] == 50
    assert np.array_equal(changed(crop, drawn), on_box_outline(x, y))
