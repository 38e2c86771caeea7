import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image
from rs_resolution import CropWindow, ImageReadError, resize_image
from rs_zoom import DecodedSource, TiledTiffSource, open_source, write_pyramid
from rs_zoom.cli import main


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory, helpers):
    """A 3000 x 2000 coordinate image tiled in 256-pixel tiles, with its pixels for comparison."""
    image = helpers.coordinate_image(3000, 2000)
    path = tmp_path_factory.mktemp("tiled") / "coords.tif"
    levels = write_pyramid(image, path, tile_size=256, compression_level=1)
    return path, np.asarray(image), levels


def test_pyramid_levels_halve_down_to_one_tile(pyramid):
    path, _, levels = pyramid
    assert levels == [(3000, 2000), (1500, 1000), (750, 500), (375, 250), (188, 125)]
    with tifffile.TiffFile(path) as tif:
        assert [level.shape[:2] for level in tif.series[0].levels] == [(h, w) for w, h in levels]
        page = tif.pages[0]
        assert page.is_tiled and page.compression == 8 and page.predictor == 2  # deflate after differencing


@pytest.mark.parametrize(
    "window",
    [(0, 0, 256, 256), (250, 250, 262, 270), (1000, 700, 2024, 1724), (2900, 1900, 3000, 2000), (0, 0, 3000, 2000)],
)
def test_tiled_window_equals_the_original_pixels(pyramid, window):
    path, pixels, _ = pyramid
    x0, y0, x1, y1 = window
    with TiledTiffSource(path) as source:
        crop = source.read_window(CropWindow(x0=x0, y0=y0, x1=x1, y1=y1))
    np.testing.assert_array_equal(np.asarray(crop), pixels[y0:y1, x0:x1])


def test_a_window_decodes_only_its_tiles_and_caches_them(pyramid):
    path, _, _ = pyramid
    with TiledTiffSource(path) as source:
        source.read_window(CropWindow(x0=250, y0=250, x1=262, y1=270))
        assert source.decoded_tiles == 4  # the window straddles one corner of four tiles
        source.read_window(CropWindow(x0=255, y0=255, x1=258, y1=258))
        assert source.decoded_tiles == 4


def test_overview_comes_from_the_smallest_sufficient_level(pyramid):
    path, pixels, _ = pyramid
    with TiledTiffSource(path) as source:
        overview = source.overview(480, 720)
        assert overview.size == (720, 480)
        assert source.decoded_tiles == 3 * 2  # level 750 x 500 is 3 x 2 tiles of 256
    expected = resize_image(Image.fromarray(pixels[::4, ::4]), 480, 720)
    difference = np.abs(np.asarray(overview, dtype=int) - np.asarray(expected, dtype=int))
    assert np.median(difference) <= 2  # box-averaged level vs subsampled original


def test_decoded_source_decodes_once(coordinate_png):
    source = DecodedSource(coordinate_png)
    assert source.size == (3000, 2000) and source.decodes == 0
    source.overview(280, 420)
    window = source.read_window(CropWindow(x0=1234, y0=567, x1=1300, y1=600))
    source.read_window(CropWindow(x0=0, y0=0, x1=10, y1=10))
    assert source.decodes == 1
    assert window.size == (66, 33)
    np.testing.assert_array_equal(
        np.asarray(window), np.asarray(Image.open(coordinate_png).convert("RGB"))[567:600, 1234:1300]
    )


def test_window_outside_the_image_is_refused(coordinate_png):
    with pytest.raises(ValueError, match="outside the 3000x2000 image"):
        DecodedSource(coordinate_png).read_window(CropWindow(x0=2990, y0=0, x1=3010, y1=10))


def test_open_source_dispatch(pyramid, coordinate_png, tmp_path, helpers):
    plain_tiff = tmp_path / "plain.tif"
    tifffile.imwrite(plain_tiff, np.asarray(helpers.coordinate_image(300, 200)))
    assert isinstance(open_source(pyramid[0]), TiledTiffSource)
    assert isinstance(open_source(coordinate_png), DecodedSource)
    assert isinstance(open_source(plain_tiff), DecodedSource)
    in_memory = open_source(Image.new("L", (50, 40)))
    assert in_memory.size == (50, 40) and in_memory.read_window(CropWindow(x0=0, y0=0, x1=5, y1=5)).mode == "RGB"
    source = open_source(coordinate_png)
    assert open_source(source) is source


def test_unreadable_files_name_the_path(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        open_source(broken)
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        open_source(tmp_path / "missing.png")


def test_truncated_tile_is_reported_with_the_file(pyramid, tmp_path):
    path, _, _ = pyramid
    damaged = tmp_path / "damaged.tif"
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        offset, count = page.dataoffsets[0], page.databytecounts[0]
    data[offset : offset + count] = bytes(count)
    damaged.write_bytes(bytes(data))
    with TiledTiffSource(damaged) as source, pytest.raises(ImageReadError, match=r"damaged\.tif.*tile 0"):
        source.read_window(CropWindow(x0=0, y0=0, x1=10, y1=10))


def test_tile_command(coordinate_png, tmp_path):
    result = CliRunner().invoke(main, ["tile", coordinate_png, "--out", str(tmp_path), "--tile-size", "512"])
    assert result.exit_code == 0, result.output
    assert "levels 3000x2000, 1500x1000, 750x500, 375x250" in result.output
    with TiledTiffSource(tmp_path / "coords.tif") as source:
        assert source.level_sizes[-1] == (375, 250)
        window = source.read_window(CropWindow(x0=600, y0=700, x1=601, y1=701))
        assert window.getpixel((0, 0)) == Image.open(coordinate_png).getpixel((600, 700))


def test_tile_command_reports_unreadable_images(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    result = CliRunner().invoke(main, ["tile", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "bad.png" in result.output and "1 of 1 images could not be read" in result.output


def test_tile_command_refuses_clashing_names(coordinate_png, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "coords.png").write_bytes(Path(coordinate_png).read_bytes())
    result = CliRunner().invoke(main, ["tile", coordinate_png, str(other / "coords.png"), "--out", str(tmp_path)])
    assert result.exit_code != 0 and "same file: coords" in result.output


def test_region_read_benchmark_runs_and_checks_its_crops(tmp_path, monkeypatch, capsys):
    script = Path(__file__).parents[3] / "benchmarks" / "rs_zoom_region_read.py"
    argv = [str(script), "--size", "700", "--window", "128", "--repeats", "2", "--workdir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(script), run_name="__main__")
    assert "speed-up:" in capsys.readouterr().out
