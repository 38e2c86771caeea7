"""The ``rs-resolution plan`` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from rs_resolution import smart_resize, visual_tokens
from rs_resolution.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    shutil.copy(DATA / "dior_00001.jpg", folder / "dior.jpg")
    nested = folder / "sub"
    nested.mkdir()
    for i, (w, h) in enumerate([(712, 557), (1024, 1024), (3000, 200), (60, 40)]):
        Image.new("RGB", (w, h)).save(nested / f"im{i}.png")
    (nested / "broken.png").write_bytes(b"not a png")
    (nested / "strip.png").write_bytes((DATA / "dior_00001.jpg").read_bytes()[:0])
    Image.new("L", (2010, 10)).save(nested / "too_thin.png")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    return folder


def test_plan_one_image_prints_sizes_and_tokens() -> None:
    result = CliRunner().invoke(main, ["plan", str(DATA / "dior_00001.jpg"), "--max-pixels", str(512 * 28 * 28)])
    assert result.exit_code == 0, result.output
    assert "800x800 -> 616x616 (w x h), 484 tokens" in result.output
    assert "images: 1" in result.output


def test_plan_folder_summary_with_skips(image_dir: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(image_dir), "--factor", "32", "--summary-only"])
    assert result.exit_code == 0, result.output
    assert "images: 5" in result.output
    assert "tokens | " in result.output  # histogram rows
    assert "broken.png: cannot read image header" in result.output
    assert "too_thin.png: absolute aspect ratio must be smaller than 200" in result.output
    assert "strip.png" in result.output
    assert "notes.txt" not in result.output


def test_plan_json_matches_library(image_dir: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(image_dir), "--json", "--max-pixels", "100000"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rows = {Path(r["path"]).name: r for r in report["rows"]}
    height, width = smart_resize(557, 712, max_pixels=100000)
    assert rows["im0.png"] == {
        "path": str(image_dir / "sub" / "im0.png"),
        "width": 712,
        "height": 557,
        "resized_width": width,
        "resized_height": height,
        "tokens": visual_tokens(height, width),
    }
    tokens = [r["tokens"] for r in report["rows"]]
    assert report["summary"]["count"] == 5 == len(tokens)
    assert report["summary"]["tokens_total"] == sum(tokens)
    assert report["summary"]["tokens_percentiles"]["p50"] == float(np.percentile(tokens, 50))
    assert sum(b["count"] for b in report["summary"]["histogram"]) == 5
    assert {Path(s["path"]).name for s in report["skipped"]} == {"broken.png", "strip.png", "too_thin.png"}


def test_plan_convention_option(tmp_path: Path) -> None:
    Image.new("RGB", (100, 10)).save(tmp_path / "strip.png")  # the two conventions differ on such a tiny image
    args = ["plan", str(tmp_path / "strip.png"), "--json", "--min-pixels", "1", "--max-pixels", "3136"]
    sizes = {}
    for convention in ("qwen-vl-utils", "transformers"):
        result = CliRunner().invoke(main, [*args, "--convention", convention])
        assert result.exit_code == 0, result.output
        row = json.loads(result.output)["rows"][0]
        sizes[convention] = (row["resized_height"], row["resized_width"])
        assert sizes[convention] == smart_resize(10, 100, 28, 1, 3136, convention)
    assert sizes == {"qwen-vl-utils": (28, 112), "transformers": (28, 28)}


def test_plan_bad_budget_and_nothing_readable(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["plan", str(DATA / "dior_00001.jpg"), "--min-pixels", "10", "--max-pixels", "5"])
    assert result.exit_code != 0 and "min-pixels <= max-pixels" in result.output
    result = runner.invoke(main, ["plan", str(DATA / "dior_00001.jpg"), "--min-pixels", "1", "--max-pixels", "700"])
    assert result.exit_code != 0 and "below one patch of factor 28 (784)" in result.output
    (tmp_path / "x.png").write_text("no")
    result = runner.invoke(main, ["plan", str(tmp_path)])
    assert result.exit_code == 1 and "no readable image" in result.output
