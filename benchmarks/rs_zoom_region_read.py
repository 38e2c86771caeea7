"""Reading one zoom window from an ultra-high-resolution image: tiled pyramidal TIFF vs full PNG decode + crop.

Makes a textured SIZE x SIZE RGB image, saves it as PNG and converts it with `rs_zoom.tile_image`, then times, in one
run: the baseline (decode the whole PNG with `rs_resolution.load_image`, crop the window) and ours (open the tiled
TIFF with `TiledTiffSource`, read the window, decoding only the tiles it covers). Ours opens a fresh source for every
window, so no cache helps it; windows are placed at random, not aligned to tiles. Both crops are checked equal.

    uv run --no-sync python benchmarks/rs_zoom_region_read.py [--size 20000] [--window 1024] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rs_resolution import CropWindow, load_image
from rs_zoom import TiledTiffSource, tile_image


def make_image(size: int, rng: np.random.Generator) -> Image.Image:
    """Smooth random structure plus fine noise: compresses roughly like aerial imagery, unlike a flat test card."""
    coarse = Image.fromarray(rng.integers(0, 256, (size // 80 + 1, size // 80 + 1, 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize((size, size), Image.Resampling.BILINEAR)).copy()
    pixels += rng.integers(0, 12, pixels.shape, dtype=np.uint8)
    return Image.fromarray(pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20000, help="image side in pixels")
    parser.add_argument("--window", type=int, default=1024, help="window side in pixels")
    parser.add_argument("--repeats", type=int, default=10, help="windows read with the tiled source")
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the generated files here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rs_zoom_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    png, tif = workdir / f"uhr_{args.size}.png", workdir / f"uhr_{args.size}.tif"
    rng = np.random.default_rng(0)
    if not png.exists():
        started = time.perf_counter()
        make_image(args.size, rng).save(png, compress_level=1)
        print(f"wrote {png.name} ({png.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")
    if not tif.exists():
        started = time.perf_counter()
        tile_image(png, tif)
        print(f"tiled {tif.name} ({tif.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")

    corners = rng.integers(0, args.size - args.window, (args.repeats, 2))
    windows = [CropWindow(x0=int(x), y0=int(y), x1=int(x) + args.window, y1=int(y) + args.window) for x, y in corners]

    started = time.perf_counter()
    full = load_image(png)
    baseline_crop = full.crop((windows[0].x0, windows[0].y0, windows[0].x1, windows[0].y1))
    baseline = time.perf_counter() - started
    del full

    timings, crops = [], []
    for window in windows:
        started = time.perf_counter()
        with TiledTiffSource(tif) as source:
            crops.append(source.read_window(window))
        timings.append(time.perf_counter() - started)
    ours = statistics.median(timings)

    if not np.array_equal(np.asarray(crops[0]), np.asarray(baseline_crop)):
        raise SystemExit("tiled window differs from the PNG crop")
    print(f"{args.window}x{args.window} window of a {args.size}x{args.size} RGB image")
    print(f"baseline  PNG full decode + crop      : {baseline:8.3f} s (one read)")
    print(f"ours      tiled TIFF window read      : {ours:8.3f} s (median of {len(timings)} fresh opens)")
    print(f"speed-up: {baseline / ours:.1f}x")


if __name__ == "__main__":
    main()
