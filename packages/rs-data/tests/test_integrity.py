"""A dataset is whole or refused: staged conversion, the manifest's record count and checksum checked on every read,
an output directory that would overwrite the source refused, and the staging folder of a killed conversion reported
and then removed by the next one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
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


def _killed_conversion(data_dir: Path, out: Path) -> int:
    """The pid of a real `convert` into `out` that was killed (SIGKILL) while writing its records."""
    script = (
        "import os, signal, sys\n"
        "from rs_data import convert as c\n"
        "c.write_records = lambda *_: os.kill(os.getpid(), signal.SIGKILL)\n"
        "print(os.getpid(), flush=True)\n"
        "c.convert('dota', sys.argv[1], sys.argv[2])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(data_dir / "dota"), str(out)], capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    return int(done.stdout)


def _staging(out: Path, name: str, owner: dict | None, age_s: float = 0.0) -> Path:
    folder = out / name
    folder.mkdir()
    if owner is not None:
        (folder / "owner.json").write_text(json.dumps(owner))
    os.utime(folder, (time.time() - age_s, time.time() - age_s))
    return folder


def test_the_next_conversion_removes_the_staging_folder_of_a_killed_one(dataset: Path, data_dir: Path) -> None:
    pid = _killed_conversion(data_dir, dataset)
    (left,) = dataset.glob(".staging-*")
    assert json.loads((left / "owner.json").read_text()) == {"host": socket.gethostname(), "pid": pid}
    assert verify_records_file(dataset / "records.jsonl") == 12  # the dataset before it is untouched
    here = socket.gethostname()
    live = _staging(dataset, ".staging-live0000", {"host": here, "pid": os.getpid()})
    elsewhere = _staging(dataset, ".staging-else0000", {"host": here + "-other", "pid": 1})
    unowned_old = _staging(dataset, ".staging-old00000", None, age_s=3600)
    unowned_new = _staging(dataset, ".staging-new00000", None)
    not_ours = _staging(dataset, ".staging-mine", None, age_s=3600)  # not a name `convert` makes

    result = CliRunner().invoke(main, ["stats", str(dataset)])
    assert result.exit_code == 0, result.output
    assert f"leftover staging folder: {left.name} (pid {pid} on {here}, stopped; the next convert" in result.output
    assert f"leftover staging folder: {live.name} (pid {os.getpid()} on {here}, still running)" in result.output

    convert("dota", data_dir / "dota", dataset, split=SplitConfig(size=256, gap=56))
    remaining = {p.name for p in dataset.glob(".staging-*")}
    assert remaining == {live.name, elsewhere.name, unowned_new.name, not_ours.name}
    assert not left.exists() and not unowned_old.exists()
    assert verify_records_file(dataset / "records.jsonl") == 12


def test_staging_folders_of_other_hosts_are_removed_on_request_once_idle(dataset: Path) -> None:
    other = {"host": socket.gethostname() + "-other", "pid": 1}
    idle = _staging(dataset, ".staging-idle0000", other)
    (idle / "records.jsonl").write_text("{}\n")
    old = time.time() - 7200
    for path in (idle / "records.jsonl", idle / "owner.json", idle):
        os.utime(path, (old, old))
    busy = _staging(dataset, ".staging-busy0000", other, age_s=7200)
    (busy / "records.jsonl").write_text("{}\n")  # written just now: that conversion is still writing

    stats = CliRunner().invoke(main, ["stats", str(dataset)])
    assert f"{idle.name} (pid 1 on {other['host']}, another host; once that conversion has ended" in stats.output
    kept = CliRunner().invoke(main, ["clean-staging", str(dataset)])
    assert kept.exit_code == 0 and idle.exists() and busy.exists(), kept.output
    result = CliRunner().invoke(main, ["clean-staging", str(dataset), "--other-hosts", "--idle-minutes", "60"])
    assert result.exit_code == 0, result.output
    assert not idle.exists() and busy.exists()
    assert result.output.splitlines()[0] == f"removed {idle.name} (pid 1 on {other['host']})"
    assert result.output.splitlines()[1].startswith(f"kept {busy.name} ")


def test_a_staging_folder_that_is_gone_is_never_idle(tmp_path: Path) -> None:
    from rs_data.staging import idle_seconds

    folder = _staging(tmp_path, ".staging-gone0000", None, age_s=7200)
    assert idle_seconds(folder) >= 7200
    shutil.rmtree(folder)  # its conversion finished while it was looked at
    assert idle_seconds(folder) == 0.0
