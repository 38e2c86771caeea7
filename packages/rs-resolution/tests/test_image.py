"""Image reading: RGB conversion, transparency on white, the 16-bit / multi-band rule, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from rs_resolution import ImageReadError, WindowOutsideImageError, load_image, read_image_size, resize_image

DATA = Path(__file__).parent / "data"


def test_real_jpeg() -> None:
    assert read_image_size(DATA / "dior_00001.jpg") == (800, 800)
    image = load_image(DATA / "dior_00001.jpg")
    assert image.mode == "RGB" and image.size == (800, 800)


def test_resize_image_is_bicubic_and_identity_at_size() -> None:
    image = load_image(DATA / "dior_00001.jpg")
    assert resize_image(image, 800, 800) is image
    resized = resize_image(image, 308, 616)
    assert resized.size == (616, 308)
    expected = image.resize((616, 308), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(resized), np.asarray(expected))
    with pytest.raises(ValueError, match="positive"):
        resize_image(image, 0, 10)


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0, 255)  # opaque red
    pixels[0, 1] = (255, 0, 0, 0)  # transparent red -> white
    pixels[1, 0] = (0, 0, 0, 128)  # half-transparent black -> grey
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = np.asarray(load_image(tmp_path / "a.png"))
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [127, 127, 127]


def test_la_and_palette_transparency_are_composited_on_white(tmp_path: Path) -> None:
    Image.fromarray(np.array([[[0, 0], [0, 255]]], dtype=np.uint8), mode="LA").save(tmp_path / "la.png")
    assert np.asarray(load_image(tmp_path / "la.png")).tolist() == [[[255, 255, 255], [0, 0, 0]]]
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    palette.putdata([0, 1])
    palette.save(tmp_path / "p.png", transparency=0)
    assert np.asarray(load_image(tmp_path / "p.png")).tolist() == [[[255, 255, 255], [0, 255, 0]]]


def test_sixteen_bit_grey_png_is_stretched(tmp_path: Path) -> None:
    ramp = np.linspace(0, 4095, 101 * 50).reshape(50, 101).astype(np.uint16)  # 12-bit data in 16-bit words
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    out = np.asarray(load_image(tmp_path / "g16.png"))
    assert out.shape == (50, 101, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    # 2nd and 98th percentile of a uniform ramp: ~2 % of the pixels clip to each end
    assert 0.01 < (out[..., 0] == 0).mean() < 0.04
    assert 0.01 < (out[..., 0] == 255).mean() < 0.04
    assert np.all(np.diff(out[..., 0].ravel().astype(int)) >= 0)  # monotonic


def test_multiband_uint16_tiff_uses_first_three_bands_stretched(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    bands = rng.integers(100, 3000, size=(40, 30, 5), dtype=np.uint16)
    bands[..., 1] = 7  # a constant band
    tifffile.imwrite(tmp_path / "ms.tif", bands, planarconfig="contig", photometric="minisblack")
    assert read_image_size(tmp_path / "ms.tif") == (30, 40)
    out = np.asarray(load_image(tmp_path / "ms.tif"))
    assert out.shape == (40, 30, 3)
    for k in (0, 2):
        low, high = np.percentile(bands[..., k], [2, 98])
        expected = np.floor(np.clip((bands[..., k] - low) / (high - low), 0, 1) * 255 + 0.5)
        np.testing.assert_array_equal(out[..., k], expected)
    assert (out[..., 1] == 0).all()


def test_planar_tiff_and_single_band_float(tmp_path: Path) -> None:
    planar = np.stack([np.full((8, 9), v, dtype=np.uint8) for v in (10, 20, 30, 40)])
    tifffile.imwrite(tmp_path / "planar.tif", planar, planarconfig="separate", photometric="minisblack")
    assert read_image_size(tmp_path / "planar.tif") == (9, 8)
    assert np.asarray(load_image(tmp_path / "planar.tif"))[0, 0].tolist() == [10, 20, 30]
    elevation = np.array([[np.nan, 0.0, 1.0, 2.0]], dtype=np.float32)
    tifffile.imwrite(tmp_path / "dem.tif", elevation)
    out = np.asarray(load_image(tmp_path / "dem.tif"))
    assert out[0, 0].tolist() == [0, 0, 0]  # NaN
    assert out[0, 3].tolist() == [255, 255, 255]


def test_eight_bit_rgba_tiff_alpha_goes_on_white(tmp_path: Path) -> None:
    pixels = np.array([[[200, 10, 10, 0], [200, 10, 10, 255]]], dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", pixels, photometric="rgb", extrasamples=["unassalpha"])
    assert np.asarray(load_image(tmp_path / "rgba.tif")).tolist() == [[[255, 255, 255], [200, 10, 10]]]


def test_missing_corrupt_and_truncated_files_raise_with_path(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nope\.png: no such file"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageReadError, match=r"text\.png: cannot decode image"):
        load_image(tmp_path / "text.png")
    with pytest.raises(ImageReadError, match=r"text\.png: cannot read image header"):
        read_image_size(tmp_path / "text.png")
    data = (DATA / "dior_00001.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match=r"cut\.jpg: cannot decode image") as info:
        load_image(tmp_path / "cut.jpg")
    assert isinstance(info.value, ValueError) and info.value.path.endswith("cut.jpg")
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(ImageReadError, match=r"bad\.tif: TIFF holds no image"):
        load_image(tmp_path / "bad.tif")
    with pytest.raises(ImageReadError, match=r"bad\.tif: TIFF holds no image"):
        read_image_size(tmp_path / "bad.tif")


def test_unsupported_tiff_layout_is_named(tmp_path: Path) -> None:
    stack = np.zeros((3, 2, 6, 7), dtype=np.uint16)  # e.g. time x band x Y x X
    tifffile.imwrite(tmp_path / "stack.tif", stack, metadata={"axes": "TCYX"})
    with pytest.raises(ImageReadError, match=r"stack\.tif: unsupported TIFF layout"):
        load_image(tmp_path / "stack.tif")


def test_images_beyond_pillows_size_limit_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ultra-high-resolution scenes exceed Pillow's decompression-bomb limit; they are legitimate input here.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 800x800 is more than twice this limit
    assert read_image_size(DATA / "dior_00001.jpg") == (800, 800)
    assert load_image(DATA / "dior_00001.jpg").size == (800, 800)
    assert Image.MAX_IMAGE_PIXELS == 1000  # the limit is restored afterwards


def test_a_window_is_cut_from_the_decoded_image(tmp_path: Path) -> None:
    whole = load_image(DATA / "dior_00001.jpg")
    cut = load_image(DATA / "dior_00001.jpg", window=(100, 40, 350, 90))
    assert cut.size == (250, 50)
    assert np.array_equal(np.asarray(cut), np.asarray(whole)[40:90, 100:350])
    # a 16-bit band is stretched over the whole image, then cut: the window shows the overview's grey levels
    band = np.arange(24, dtype=np.uint16).reshape(4, 6) * 1000
    tifffile.imwrite(tmp_path / "band.tif", band)
    assert np.array_equal(
        np.asarray(load_image(tmp_path / "band.tif", window=(2, 1, 5, 3))),
        np.asarray(load_image(tmp_path / "band.tif"))[1:3, 2:5],
    )


@pytest.mark.parametrize("window", [(700, 0, 801, 10), (-1, 0, 10, 10), (10, 10, 10, 20)])
def test_a_window_outside_the_image_names_file_and_window(window: tuple[int, int, int, int]) -> None:
    named = r"dior_00001\.jpg: window \[.*\] is empty or outside the 800x800 image"
    with pytest.raises(WindowOutsideImageError, match=named):
        load_image(DATA / "dior_00001.jpg", window=window)
    assert issubclass(WindowOutsideImageError, ImageReadError)
