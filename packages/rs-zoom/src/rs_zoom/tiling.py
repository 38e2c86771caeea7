"""Offline conversion of an image into a tiled, pyramidal TIFF that `TiledTiffSource` reads window by window.

Layout: the full-resolution image is the first page, in square tiles compressed with zlib after horizontal differencing
(TIFF predictor 2, as GDAL's PREDICTOR=2; about a third smaller on textured imagery); each further level halves the
previous one (2x2 box average) and is stored as a SubIFD of the first page, down to the first level that fits in one
tile: a standard tiled pyramidal TIFF.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image
from rs_resolution import large_images_allowed, load_image


def pyramid_levels(image: Image.Image, tile_size: int) -> list[Image.Image]:
    """The image followed by successive halvings until one fits in a single tile."""
    levels = [image]
    while max(levels[-1].size) > tile_size:
        levels.append(levels[-1].reduce(2))
    return levels


def write_pyramid(
    image: Image.Image, dst: str | Path, tile_size: int = 512, compression_level: int = 6
) -> list[tuple[int, int]]:
    """Write `image` (converted to RGB) as a tiled pyramidal TIFF at `dst`; returns each level's (width, height).

    The file appears atomically: it is written beside `dst` and renamed when complete.
    """
    if tile_size <= 0 or tile_size % 16:
        raise ValueError(f"tile size must be a positive multiple of 16 (TIFF rule), got {tile_size}")
    dst = Path(dst)
    levels = pyramid_levels(image.convert("RGB"), tile_size)
    options = {
        "tile": (tile_size, tile_size),
        "photometric": "rgb",
        "compression": "zlib",
        "compressionargs": {"level": compression_level},
        "predictor": True,
        "metadata": None,
    }
    partial = dst.with_name(dst.name + ".partial")
    try:
        with tifffile.TiffWriter(partial, bigtiff=True) as writer:
            writer.write(np.asarray(levels[0]), subifds=len(levels) - 1, **options)
            for level in levels[1:]:
                writer.write(np.asarray(level), subfiletype=1, **options)
        os.replace(partial, dst)
    finally:
        partial.unlink(missing_ok=True)
    return [level.size for level in levels]


def tile_image(
    src: str | Path, dst: str | Path, tile_size: int = 512, compression_level: int = 6
) -> list[tuple[int, int]]:
    """Convert the image file `src` (any format `rs_resolution.load_image` reads) into a tiled pyramid at `dst`."""
    with large_images_allowed():
        image = load_image(src)
    return write_pyramid(image, dst, tile_size=tile_size, compression_level=compression_level)
