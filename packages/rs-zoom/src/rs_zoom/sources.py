"""Image sources: one object per image that serves a downscaled overview and full-resolution windows.

- `DecodedSource` wraps an ordinary file (PNG, JPEG, plain TIFF) or an in-memory PIL image; the file is decoded on
  first use and kept, so a chain decodes it at most once however many windows it reads.
- `TiledTiffSource` reads a tiled (optionally pyramidal) RGB TIFF such as `rs-zoom tile` writes: a window decodes only
  the tiles it covers, the overview comes from the smallest pyramid level at least as large as asked, and decoded tiles
  are kept in a small LRU cache.

`open_source` picks the right one.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import tifffile
from PIL import Image
from rs_resolution import (
    CropWindow,
    ImageReadError,
    check_window,
    cut_window,
    load_image,
    read_image_size,
    resize_image,
)

TIFF_SUFFIXES = (".tif", ".tiff")


@runtime_checkable
class ImageSource(Protocol):
    """An image that can be read as a whole (downscaled) or window by window (full resolution)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the full-resolution image."""
        ...

    def overview(self, height: int, width: int) -> Image.Image:
        """The whole image resized to `height` x `width` (RGB)."""
        ...

    def read_window(self, window: CropWindow) -> Image.Image:
        """The full-resolution pixels of `window` (RGB, `window.size`)."""
        ...

    def close(self) -> None:
        """Release the file and any decoded pixels."""
        ...


class DecodedSource:
    """An ordinary image file (or PIL image), decoded in full once, on first use."""

    def __init__(self, image: str | Path | Image.Image):
        self._path = None if isinstance(image, Image.Image) else Path(image)
        self._image = image.convert("RGB") if isinstance(image, Image.Image) else None
        if self._image is not None:
            self._size = self._image.size
        else:
            self._size = read_image_size(self._path)
        self.decodes = 0

    @property
    def name(self) -> str:
        return str(self._path) if self._path is not None else "<in-memory image>"

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def _pixels(self) -> Image.Image:
        if self._image is None:
            self._image = load_image(self._path)
            self.decodes += 1
            if self._image.size != self._size:
                raise ImageReadError(self._path, f"header says {self._size}, pixels are {self._image.size}")
        return self._image

    def overview(self, height: int, width: int) -> Image.Image:
        return resize_image(self._pixels(), height, width)

    def read_window(self, window: CropWindow) -> Image.Image:
        return cut_window(self._pixels(), window.corners, self.name)

    def close(self) -> None:
        if self._path is not None:
            self._image = None

    def __enter__(self) -> DecodedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TiledTiffSource:
    """A tiled RGB TIFF read tile by tile; pyramid levels (SubIFDs or further pages) serve the overview."""

    def __init__(self, path: str | Path, cache_tiles: int = 64):
        self.path = Path(path)
        try:
            self._tif = tifffile.TiffFile(self.path)
        except (OSError, ValueError, tifffile.TiffFileError) as error:
            raise ImageReadError(self.path, f"cannot open as TIFF: {error}") from error
        try:
            self._levels = [level.keyframe for level in self._tif.series[0].levels]
            for page in self._levels:
                _check_tiled_rgb(page, self.path)
        except ImageReadError:
            self._tif.close()
            raise
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._cache_tiles = cache_tiles
        self.decoded_tiles = 0

    @property
    def size(self) -> tuple[int, int]:
        page = self._levels[0]
        return page.imagewidth, page.imagelength

    @property
    def level_sizes(self) -> list[tuple[int, int]]:
        """(width, height) of every pyramid level, full resolution first."""
        return [(page.imagewidth, page.imagelength) for page in self._levels]

    def overview(self, height: int, width: int) -> Image.Image:
        level = 0
        for index, (level_w, level_h) in enumerate(self.level_sizes):
            if level_w >= width and level_h >= height:
                level = index
        level_w, level_h = self.level_sizes[level]
        whole = self._read(level, CropWindow(x0=0, y0=0, x1=level_w, y1=level_h))
        return resize_image(Image.fromarray(whole), height, width)

    def read_window(self, window: CropWindow) -> Image.Image:
        check_window(window.corners, self.size, self.path)
        return Image.fromarray(self._read(0, window))

    def _read(self, level: int, window: CropWindow) -> np.ndarray:
        page = self._levels[level]
        tile_w, tile_h = page.tilewidth, page.tilelength
        out = np.empty((window.y1 - window.y0, window.x1 - window.x0, 3), dtype=np.uint8)
        tiles_across = math.ceil(page.imagewidth / tile_w)
        for ty in range(window.y0 // tile_h, (window.y1 - 1) // tile_h + 1):
            for tx in range(window.x0 // tile_w, (window.x1 - 1) // tile_w + 1):
                tile = self._tile(level, ty * tiles_across + tx)
                left, top = tx * tile_w, ty * tile_h
                x0, x1 = max(window.x0, left), min(window.x1, left + tile_w)
                y0, y1 = max(window.y0, top), min(window.y1, top + tile_h)
                out[y0 - window.y0 : y1 - window.y0, x0 - window.x0 : x1 - window.x0] = tile[
                    y0 - top : y1 - top, x0 - left : x1 - left
                ]
        return out

    def _tile(self, level: int, index: int) -> np.ndarray:
        key = (level, index)
        tile = self._cache.get(key)
        if tile is not None:
            self._cache.move_to_end(key)
            return tile
        page = self._levels[level]
        offset, count = page.dataoffsets[index], page.databytecounts[index]
        handle = self._tif.filehandle
        handle.seek(offset)
        data = handle.read(count) if count else None
        try:
            decoded, _, _ = page.decode(data, index, jpegtables=page.jpegtables)
        except Exception as error:  # tifffile raises codec-specific errors
            raise ImageReadError(self.path, f"cannot decode tile {index} of level {level}: {error}") from error
        if decoded is None:  # a tile the writer left empty
            tile = np.zeros((page.tilelength, page.tilewidth, 3), dtype=np.uint8)
        else:
            tile = np.asarray(decoded).reshape(page.tilelength, page.tilewidth, 3)
        self.decoded_tiles += 1
        self._cache[key] = tile
        if len(self._cache) > self._cache_tiles:
            self._cache.popitem(last=False)
        return tile

    def close(self) -> None:
        self._cache.clear()
        self._tif.close()

    def __enter__(self) -> TiledTiffSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_tiled_rgb(page: tifffile.TiffPage, path: Path) -> None:
    if not page.is_tiled:
        raise ImageReadError(path, "TIFF is not tiled")
    if page.dtype != np.uint8 or page.samplesperpixel != 3 or page.planarconfig != 1 or page.imagedepth != 1:
        raise ImageReadError(
            path, f"tiled TIFF is not 8-bit contiguous RGB (dtype {page.dtype}, {page.samplesperpixel} samples)"
        )


def is_tiled_rgb_tiff(path: str | Path) -> bool:
    """Whether `path` is a TIFF that `TiledTiffSource` can read window by window."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        return False
    try:
        with tifffile.TiffFile(path) as tif:
            for level in tif.series[0].levels:
                _check_tiled_rgb(level.keyframe, path)
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):
        return False
    return True


def open_source(image: str | Path | Image.Image | ImageSource) -> ImageSource:
    """An `ImageSource` for a path, a PIL image, or an existing source (returned as is).

    Tiled 8-bit RGB TIFFs are read window by window; every other file is decoded once, in full, with
    `rs_resolution.load_image` (which raises `ImageReadError` naming the file).
    """
    if isinstance(image, ImageSource):
        return image
    if isinstance(image, Image.Image):
        return DecodedSource(image)
    if is_tiled_rgb_tiff(image):
        return TiledTiffSource(image)
    return DecodedSource(image)
