"""Reading images the way the model must see them: RGB, 8 bit, resized with Pillow BICUBIC.

``load_image`` follows qwen-vl-utils' ``fetch_image``: an RGBA image is composited on white and everything else is
converted to RGB -- extended so that LA, PA and palette images with a transparent colour are composited on white too
(qwen-vl-utils would show their hidden colours). EXIF orientation is not applied, as in qwen-vl-utils. Pillow's
decompression-bomb limit is lifted while this module reads: ultra-high-resolution scenes of 500+ Mpx are real input.

Rule for remote-sensing rasters (TIFF, read with tifffile, and 16-bit / 32-bit / float images Pillow opens):

- bands: three or more bands -> the first three, in file order, as R, G, B; one or two bands -> the first band as
  grey. An extra sample the TIFF marks as alpha is not a band: it composites the image on white.
- depth: 8-bit data is kept as is; any other integer or float data is stretched per band, linearly, from its 2nd to
  its 98th percentile (of the finite values, estimated on a regular subsample of at most 2**20 pixels) onto 0..255,
  clipped; NaN becomes 0; a band whose two percentiles coincide maps to 0 at or below that value and 255 above.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_HIGH_BIT_MODES = {"I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_STRETCH_PERCENTILES = (2.0, 98.0)
_STRETCH_SAMPLES = 2**20
_READ_ERRORS = (UnidentifiedImageError, OSError, ValueError, tifffile.TiffFileError)


class ImageReadError(ValueError):
    """An image that cannot be read or converted; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class WindowOutsideImageError(ImageReadError):
    """A pixel window that is empty or does not lie inside its image."""


@contextmanager
def large_images_allowed() -> Iterator[None]:
    """Lift Pillow's decompression-bomb limit (about 179 Mpx), which real UHR images exceed, for this block."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _is_tiff(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in _TIFF_MAGIC


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(p, "no such file")
    return p


def _first_series(tif: tifffile.TiffFile, path: Path) -> tifffile.TiffPageSeries:
    if not tif.series or "Y" not in tif.series[0].axes or "X" not in tif.series[0].axes:
        raise ImageReadError(path, "TIFF holds no image (no page with Y and X axes)")
    return tif.series[0]


def read_image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of an image file, read from its header without decoding the pixels."""
    p = _existing(path)
    try:
        if _is_tiff(p):
            with tifffile.TiffFile(p) as tif:
                series = _first_series(tif, p)
                return series.shape[series.axes.index("X")], series.shape[series.axes.index("Y")]
        with large_images_allowed(), Image.open(p) as image:
            return image.size
    except ImageReadError:
        raise
    except _READ_ERRORS as error:
        raise ImageReadError(p, f"cannot read image header ({error})") from error


def load_image(path: str | Path, window: Sequence[int] | None = None) -> Image.Image:
    """Decode an image file into an 8-bit RGB Pillow image by the rules of this module; with `window`
    (``x0, y0, x1, y1``, end exclusive) only those pixels (`cut_window`)."""
    p = _existing(path)
    try:
        if _is_tiff(p):
            image = _tiff_to_rgb(p)
        else:
            with large_images_allowed(), Image.open(p) as opened:
                opened.load()
                image = _pillow_to_rgb(opened)
    except ImageReadError:
        raise
    except _READ_ERRORS as error:
        raise ImageReadError(p, f"cannot decode image ({error})") from error
    return image if window is None else cut_window(image, window, p)


def check_window(window: Sequence[int], size: tuple[int, int], name: str | Path) -> None:
    """Raise `WindowOutsideImageError` naming `name` unless ``x0, y0, x1, y1`` (end exclusive) is a non-empty window
    inside an image of `size` (width, height)."""
    x0, y0, x1, y1 = window
    width, height = size
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise WindowOutsideImageError(name, f"window {list(window)} is empty or outside the {width}x{height} image")


def cut_window(image: Image.Image, window: Sequence[int], name: str | Path) -> Image.Image:
    """The pixels of `window` (``x0, y0, x1, y1``, end exclusive) of `image`, checked by `check_window`."""
    check_window(window, image.size, name)
    return image.crop(tuple(window))


def resize_image(image: Image.Image, height: int, width: int) -> Image.Image:
    """Resize to ``width`` x ``height`` with Pillow BICUBIC; the same object back if it already has that size."""
    if height <= 0 or width <= 0:
        raise ValueError(f"target size must be positive, got height={height}, width={width}")
    if image.size == (width, height):
        return image
    return image.resize((width, height), Image.Resampling.BICUBIC)


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _pillow_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        return _on_white(image)
    if image.mode in _HIGH_BIT_MODES:
        return _bands_to_rgb(np.asarray(image)[..., None], alpha=None)
    return image.convert("RGB")


def _tiff_to_rgb(path: Path) -> Image.Image:
    with tifffile.TiffFile(path) as tif:
        series = _first_series(tif, path)
        data = series.asarray()
        axes = series.axes
        extrasamples = tuple(getattr(tif.pages[0], "extrasamples", ()) or ())
    other = [i for i, axis in enumerate(axes) if axis not in "YX" and data.shape[i] > 1]
    if len(other) > 1:
        raise ImageReadError(path, f"unsupported TIFF layout: axes {axes!r} with shape {data.shape}")
    keep = [axes.index("Y"), axes.index("X"), *other]
    data = data.transpose(*keep, *[i for i in range(data.ndim) if i not in keep]).reshape(
        data.shape[keep[0]], data.shape[keep[1]], -1
    )
    alpha = None
    if extrasamples and extrasamples[-1] in (1, 2) and data.shape[2] > 1:  # associated / unassociated alpha
        data, alpha = data[..., :-1], data[..., -1]
    return _bands_to_rgb(data, alpha)


def _bands_to_rgb(data: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """``(H, W, bands)`` array of any numeric type -> 8-bit RGB image (module rule)."""
    if data.dtype.kind not in "biuf":
        raise ValueError(f"unsupported pixel type {data.dtype}")
    bands = data[..., :3] if data.shape[2] >= 3 else np.repeat(data[..., :1], 3, axis=2)
    rgb = np.stack([_to_uint8(bands[..., i]) for i in range(3)], axis=-1)
    image = Image.fromarray(rgb)
    if alpha is None:
        return image
    image.putalpha(Image.fromarray(_alpha_to_uint8(alpha)))
    return _on_white(image)


def _to_uint8(band: np.ndarray) -> np.ndarray:
    if band.dtype == np.uint8:
        return band
    if band.dtype == np.bool_:
        return band.astype(np.uint8) * 255
    values = band.astype(np.float64)
    step = max(1, math.isqrt(max(1, values.size // _STRETCH_SAMPLES)))
    sample = values[::step, ::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return np.zeros(band.shape, dtype=np.uint8)
    low, high = np.percentile(sample, _STRETCH_PERCENTILES)
    with np.errstate(invalid="ignore"):
        if high > low:
            scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * 255.0
        else:
            scaled = np.where(values > low, 255.0, 0.0)
    return np.nan_to_num(np.floor(scaled + 0.5), nan=0.0).astype(np.uint8)


def _alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype == np.uint8:
        return alpha
    if alpha.dtype.kind in "iu":
        return np.floor(np.clip(alpha / np.iinfo(alpha.dtype).max, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.floor(np.nan_to_num(np.clip(alpha.astype(np.float64), 0, 1)) * 255 + 0.5).astype(np.uint8)
