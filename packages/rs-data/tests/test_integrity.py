"""A dataset is whole or refused: staged conversion, the manifest's record count and checksum checked on every read,
and an output directory that would overwrite the source refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rs_data import IncompleteDatasetError, read_records, verify_records_file, write_records
from rs_data import convert as convert_module
from rs_data.cli import main
from rs_data.convert import convert
from rs_data.dataset import RecordStore
from rs_data.split import SplitConfig
from rs_data.stats import dataset_stats


@pytest.fixture
def dataset(data_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "dota"
    convert("dota", data_dir / "dota", out, split=SplitConfig(size=256, gap=56))
    return out


def test_manifest_holds_count_and_checksum(dataset: Path) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    raw = (dataset / "records.jsonl").read_bytes()
    # P1888 (712 x 557) at 256/56: 4 columns x 3 rows of patches.
    assert manifest["records_file"] == {
        "name": "records.jsonl",
        "count": 12,
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    assert verify_records_file(dataset / "records.jsonl") == 12
    assert not list(dataset.glob(".staging-*"))


def test_a_file_cut_short_is_refused_everywhere(dataset: Path) -> None:
    records = dataset / "records.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    records.write_text("".join(lines[:5]))  # what a write killed after 5 of 12 rows leaves
    for read in (verify_records_file, lambda p: list(read_records(p)), RecordStore, dataset_stats):
        with pytest.raises(IncompleteDatasetError, match=r"records.jsonl: holds 5 records but .* says 12"):
            read(records)
    for command in (["stats", str(dataset)], ["show", str(dataset)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1 and "holds 5 records" in result.output and "Traceback" not in result.output


def test_a_changed_file_is_refused(dataset: Path) -> None:
    records = dataset / "records.jsonl"
    records.write_text(records.read_text().replace("small-vehicle", "large-vehicle", 1))
    with pytest.raises(IncompleteDatasetError, match="SHA-256 differs"):
        RecordStore(records)


def test_a_failed_conversion_leaves_the_previous_dataset(dataset: Path, data_dir: Path, monkeypatch) -> None:
    before = {p.name: p.read_bytes() for p in dataset.iterdir() if p.is_file()}
    patches = sorted(p.name for p in (dataset / "patches").iterdir())

    def killed(path, records):
        with open(path, "w") as handle:
            handle.write(next(iter(records)).model_dump_json() + "\n")
        raise KeyboardInterrupt  # stopped after the first row

    monkeypatch.setattr(convert_module, "write_records", killed)
    with pytest.raises(KeyboardInterrupt):
        convert("dota", data_dir / "dota", dataset, split=SplitConfig(size=128, gap=28))
    assert {p.name: p.read_bytes() for p in dataset.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in (dataset / "patches").iterdir()) == patches
    assert verify_records_file(dataset / "records.jsonl") == 12 and not list(dataset.glob(".staging-*"))


def test_reconverting_replaces_the_patches(dataset: Path, data_dir: Path) -> None:
    convert("dota", data_dir / "dota", dataset, split=SplitConfig(size=512, gap=100))
    records = list(read_records(dataset / "records.jsonl"))
    assert len(records) == 4 and len(list((dataset / "patches").iterdir())) == 4  # 2 x 2 windows, old ones gone
    assert all(Path(r.images[0].path).is_file() for r in records)


def test_records_without_a_manifest_are_read_as_they_are(dataset: Path, tmp_path: Path) -> None:
    records = list(read_records(dataset / "records.jsonl"))
    write_records(tmp_path / "mine.jsonl", records[:3])
    assert (
        verify_records_file(tmp_path / "mine.jsonl") is None and len(list(read_records(tmp_path / "mine.jsonl"))) == 3
    )
    with pytest.raises(FileNotFoundError):
        verify_records_file(tmp_path / "absent.jsonl")


def test_output_over_the_source_is_refused(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "dota"
    shutil.copytree(data_dir / "dota", source)
    for out in (source, source / "converted"):
        result = CliRunner().invoke(main, ["convert", "dota", str(source), "--out", str(out)])
        assert result.exit_code == 1 and "source folder" in result.output
    conversations = tmp_path / "geochat"
    conversations.mkdir()
    row = {"id": "a", "image": "a.png", "conversations": [{"from": "human", "value": "hi"}]}
    (conversations / "records.jsonl").write_text(json.dumps(row) + "\n")
    result = CliRunner().invoke(
        main, ["convert", "llava", str(conversations / "records.jsonl"), "--out", str(conversations)]
    )
    assert result.exit_code == 1 and "would overwrite the source" in result.output
    assert json.loads((conversations / "records.jsonl").read_text()) == row
    assert sorted(p.name for p in source.iterdir()) == ["images", "labelTxt"]
