"""The `rs-data` CLI: convert (manifest, skipped records, patches, strict mode, YAML config) and stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rs_data import read_records
from rs_data.cli import main
from rs_resolution import ResolutionPolicy, visual_tokens


def _convert_split(data_dir: Path, out: Path, workers: int) -> Path:
    args = ["convert", "dota", str(data_dir / "dota"), "--out", str(out), "--workers", str(workers)]
    result = CliRunner().invoke(main, [*args, "--split-size", "256", "--split-gap", "56", "--split-rates", "1,0.5"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def converted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _convert_split(data_dir, tmp_path_factory.mktemp("converted") / "dota", workers=2)


def test_one_and_two_workers_write_the_same_dataset(converted: Path, data_dir: Path, tmp_path: Path) -> None:
    alone = _convert_split(data_dir, tmp_path / "dota", workers=1)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    written = files(alone)
    assert {"records.jsonl", "skipped.jsonl", "manifest.json"} < set(written) and len(written) == 3 + 16
    assert written == files(converted)


def test_convert_writes_records_manifest_and_skips(converted: Path) -> None:
    manifest = json.loads((converted / "manifest.json").read_text())
    records = list(read_records(converted / "records.jsonl"))
    assert manifest["records"] == len(records) == 16
    assert manifest["tasks"] == {"detection": 16}
    assert manifest["classes"] == {
        "large-vehicle": sum(o.label == "large-vehicle" for r in records for o in r.annotation.objects),
        "small-vehicle": sum(o.label == "small-vehicle" for r in records for o in r.annotation.objects),
    }
    assert manifest["images"]["width"] == {"min": 256, "max": 256, "mean": 256.0}
    assert manifest["skipped"] == {"count": 1, "by_reason": {"image not found": 1}}
    skipped = [json.loads(line) for line in (converted / "skipped.jsonl").read_text().splitlines()]
    assert skipped[0]["file"].endswith("P1088.txt")
    # Patch images live in the dataset directory and are stored relative to it.
    line = json.loads((converted / "records.jsonl").read_text().splitlines()[0])
    assert line["images"][0]["path"].startswith("patches/")
    assert all(Path(r.images[0].path).is_file() for r in records)


def test_strict_mode_fails_on_skips(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convert", "dota", str(data_dir / "dota"), "--out", str(tmp_path), "--strict"])
    assert result.exit_code != 0 and "P1088.txt" in result.output and "strict" in result.output


def test_options_from_yaml_config(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "convert.yaml"
    config.write_text("workers: 1\noptions: ['check_images=false']\n")
    out = tmp_path / "hrsc"
    result = CliRunner().invoke(
        main, ["convert", "--config", str(config), "hrsc2016", str(data_dir / "hrsc2016"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["records"] == 1


def test_stats_reports_visual_tokens_under_the_policy(converted: Path) -> None:
    result = CliRunner().invoke(main, ["stats", str(converted), "--json", "--max-pixels", str(128 * 128)])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    height, width = ResolutionPolicy(max_pixels=128 * 128).resized_size(256, 256)
    assert stats["visual_tokens"]["total"] == 16 * visual_tokens(height, width)
    assert stats["tasks"] == {"detection": 16}
    markdown = CliRunner().invoke(main, ["stats", str(converted)]).output
    assert "| detection | 16 |" in markdown


def test_formats_lists_every_reader() -> None:
    output = CliRunner().invoke(main, ["formats"]).output
    for name in (
        "dota",
        "dior-r",
        "fair1m",
        "hrsc2016",
        "coco",
        "dior-rsvg",
        "vrsbench",
        "captions",
        "rsvqa",
        "classification",
        "llava",
        "lrs-vqa",
    ):
        assert f"\n{name} " in "\n" + output


def test_records_accepted_without_images_point_where_the_image_belongs(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "lrs_vqa" / "LRS_VQA_sample300.jsonl"
    result = CliRunner().invoke(
        main, ["convert", "lrs-vqa", str(src), "--out", str(tmp_path), "-o", "check_images=false", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    first = next(read_records(tmp_path / "records.jsonl"))
    assert first.images[0].path == str((data_dir / "lrs_vqa" / "LRS_VQA/image/test-704.png").resolve())
    assert (first.images[0].width, first.images[0].height) == (8192, 8192)


def test_show_renders_a_record(converted: Path) -> None:
    result = CliRunner().invoke(main, ["show", str(converted), "--index", "3", "--convention", "relative1000"])
    assert result.exit_code == 0, result.output
    messages = json.loads(result.output)
    assert messages[-2]["content"][0]["type"] == "image" and messages[-1]["role"] == "assistant"
    assert CliRunner().invoke(main, ["show", str(converted), "--index", "99"]).exit_code != 0


def test_convert_split_style_mmrotate(data_dir: Path, tmp_path: Path) -> None:
    args = ["convert", "dota", str(data_dir / "dota"), "--out", str(tmp_path), "--split-style", "mmrotate"]
    result = CliRunner().invoke(main, [*args, "--split-size", "512", "--split-gap", "100", "--workers", "1"])
    assert result.exit_code == 0, result.output
    reference = json.loads((data_dir / "split_references" / "mmrotate_P1888.json").read_text())["runs"]["512/100/1"]
    assert [r.id for r in read_records(tmp_path / "records.jsonl")] == list(reference)
    assert json.loads((tmp_path / "manifest.json").read_text())["split"]["style"] == "mmrotate"
