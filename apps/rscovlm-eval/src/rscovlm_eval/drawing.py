"""Drawing one sample: ground truth and prediction on the image, the zoom chain's regions and crops.

Shapes are polygons in original-image pixels, the space `parse_objects` maps answers into and the metrics score in.
A panel downscaled by (sx, sy) shows original point (x, y) at pixel (floor(x·sx), floor(y·sy)). The report's gallery
and `rscovlm-eval show` draw through these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from rscovlm_eval.samples import SampleView

TRUTH = (40, 200, 60)
PREDICTION = (235, 50, 50)
ZOOM = (255, 200, 0)
LEGEND = {"ground truth": TRUTH, "prediction": PREDICTION, "zoom region": ZOOM}


@dataclass(frozen=True)
class Shape:
    """One outline to draw: 8 values (x1, y1, ..., x4, y4) in original pixels, a colour, a label."""

    polygon: tuple[float, ...]
    colour: tuple[int, int, int]
    label: str = ""
    widen: int = 0  # extra outline pixels (inward): the ground truth stays visible under a matching prediction


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def downscale(
    image: Image.Image, max_side: int | None, original: tuple[int, int] | None = None
) -> tuple[Image.Image, tuple[float, float]]:
    """A copy of `image` whose longer side is at most `max_side` (area-averaged), and its (sx, sy) scale from the
    `original` size (default: the image's own; a JPEG decoded at reduced size is smaller than its original)."""
    width, height = original or image.size
    factor = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    copy = image.copy() if image.size == size else image.resize(size, Image.Resampling.BOX)
    return copy, (size[0] / width, size[1] / height)


def open_for(path: str, max_side: int | None) -> tuple[Image.Image, tuple[int, int]]:
    """The image at `path` as RGB and its original size; a JPEG is decoded at the smallest scale (1/2, 1/4, 1/8)
    still covering `max_side`, as thumbnails need no more."""
    from rs_resolution import load_image

    if max_side is None or Path(path).suffix.lower() not in (".jpg", ".jpeg"):
        image = load_image(path)
        return image, image.size
    with Image.open(path) as jpeg:
        original = jpeg.size
        factor = max_side / max(original)
        jpeg.draft("RGB", (math.ceil(original[0] * factor), math.ceil(original[1] * factor)))
        return jpeg.convert("RGB"), original


def panel_points(
    polygon: Sequence[float], scale: tuple[float, float], size: tuple[int, int], offset: tuple[float, float] = (0, 0)
) -> list[tuple[int, int]]:
    """The pixels of a panel (of `size`, showing the original from `offset` at `scale`) a polygon's corners fall on."""
    points = []
    for x, y in zip(polygon[0::2], polygon[1::2], strict=True):
        u = math.floor((x - offset[0]) * scale[0])
        v = math.floor((y - offset[1]) * scale[1])
        points.append((min(max(u, 0), size[0] - 1), min(max(v, 0), size[1] - 1)))
    return points


def draw_shapes(
    image: Image.Image,
    shapes: Sequence[Shape],
    scale: tuple[float, float],
    offset: tuple[float, float] = (0, 0),
    width: int = 2,
    font_size: int | None = None,
) -> Image.Image:
    """Outline every shape (and write its label above its top corner) on `image` in place; returns it.

    Labels are `font_size` pixels high (default: grows with the image, at least 11); 0 writes none.
    """
    draw = ImageDraw.Draw(image)
    font_size = max(11, max(image.size) // 60) if font_size is None else font_size
    for shape in shapes:
        points = panel_points(shape.polygon, scale, image.size, offset)
        draw.polygon(points, outline=shape.colour, width=width + shape.widen)
        if shape.label and font_size:
            u, v = min(points, key=lambda p: (p[1], p[0]))
            draw.text((u + 1, max(0, v - font_size - 1)), shape.label, fill=shape.colour, font=_font(font_size))
    return image


def crop_panel(
    image: Image.Image,
    window: Sequence[int],
    shapes: Sequence[Shape],
    max_side: int | None,
    width: int = 2,
    font_size: int | None = None,
) -> Image.Image:
    """The zoom crop `window` (x0, y0, x1, y1 in original pixels) cut from the original, downscaled, shapes drawn."""
    x0, y0, x1, y1 = (int(v) for v in window)
    crop, scale = downscale(image.crop((x0, y0, x1, y1)), max_side)
    return draw_shapes(crop, shapes, scale, offset=(x0, y0), width=width, font_size=font_size)


def sample_panels(
    path: str,
    shapes: Sequence[Shape],
    windows: Sequence[Sequence[int]],
    max_side: int | None,
    crop_side: int | None,
    width: int = 2,
    font_size: int | None = None,
) -> list[Image.Image]:
    """The overview of the image at `path` with every shape drawn, then each zoom window's crop with its shapes
    (labels `font_size` pixels high: see `draw_shapes`)."""
    image, original = open_for(path, None if windows else max_side)  # a crop needs the full resolution
    overview, scale = downscale(image, max_side, original)
    draw_shapes(overview, shapes, scale, width=width, font_size=font_size)
    inner = [s for s in shapes if s.colour != ZOOM]
    return [overview, *(crop_panel(image, w, inner, crop_side, width, font_size) for w in windows)]


def side_by_side(panels: Sequence[Image.Image], gap: int = 6) -> Image.Image:
    """Panels in a row on white, their tops aligned, with a colour legend underneath (its text grows with them)."""
    size = max(11, max(p.height for p in panels) // 60)
    font, legend_height = _font(size), size + 8
    width = sum(p.width for p in panels) + gap * (len(panels) - 1)
    height = max(p.height for p in panels) + legend_height
    figure = Image.new("RGB", (max(width, 30 * size), height), "white")
    x = 0
    for panel in panels:
        figure.paste(panel, (x, 0))
        x += panel.width + gap
    draw = ImageDraw.Draw(figure)
    x, y = 2, height - legend_height + 4
    for name, colour in LEGEND.items():
        draw.rectangle((x, y, x + size - 2, y + size - 2), fill=colour)
        draw.text((x + size + 2, y - 2), name, fill="black", font=font)
        x += 2 * size + int(draw.textlength(name, font=font))
    return figure


def sample_figure(view: SampleView, max_side: int | None = 1600) -> Image.Image:
    """One sample as a figure (for a paper): the drawn overview, each zoom round's crop, and a colour legend."""
    if not view.image:
        raise ValueError(f"{view.benchmark} / {view.id}: the cache entry names no image to draw on")
    return side_by_side(sample_panels(view.image, view.shapes, view.windows, max_side, max_side, width=3))
