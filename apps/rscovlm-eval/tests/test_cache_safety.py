"""A cache that is safe to share and to resume: errored samples are retried and counted, a shard is predicted under
a lock, a damaged middle line stops with file:line and `report --repair` drops it."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner
from rscovlm_eval import run_evaluation
from rscovlm_eval.cache import LockedError, ShardLock, lock_path, shard_path
from rscovlm_eval.cli import main

AID = [{"name": "aid", "data": "scenes"}]  # 4 scenes: parking_lot_0, parking_lot_1, golf_course_0, golf_course_1


class FlakyGenerate:
    """Answers "parking lot", but fails (as a server refusing a request) for images whose path contains `fail`."""

    def __init__(self, fail: str | None) -> None:
        self.fail = fail
        self.asked: list[str] = []

    def __call__(self, conversations):
        images = [str(c[-1]["content"][0]["image"]) for c in conversations]
        self.asked += images
        if self.fail is not None and any(self.fail in image for image in images):
            raise OSError(f"cannot decode {self.fail}")
        return ["parking lot" for _ in conversations]


def _results(run_dir):
    return json.loads((run_dir / "results.json").read_text())["benchmarks"]["aid"]


def test_errored_samples_are_counted_marked_incomplete_and_retried(bench_root, qwen25_folder, tmp_path, make_config):
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=AID, plots=False)
    run_dir = run_evaluation(config, generate=FlakyGenerate(fail="golf_course_0"))
    first = _results(run_dir)
    # 3 samples scored: both parking lots right, golf_course_1 wrong -> 2/3; golf_course_0 failed
    assert first["errors"]["count"] == 1 and first["count"] == 3 and first["incomplete"] is True
    assert first["accuracy"] == pytest.approx(2 / 3)
    markdown = (run_dir / "results.md").read_text()
    assert "| aid (incomplete) | 66.67 |" in markdown and "| 3 | 1 |" in markdown

    kept = make_config(
        qwen25_folder, bench_root, tmp_path, benchmarks=AID, plots=False, inference={"retry_errors": False}
    )
    untouched = FlakyGenerate(fail=None)
    run_evaluation(kept, generate=untouched)
    assert untouched.asked == [] and _results(run_dir)["errors"]["count"] == 1

    retry = FlakyGenerate(fail=None)
    run_evaluation(config, generate=retry)  # retrying is the default
    assert len(retry.asked) == 1 and "golf_course_0" in retry.asked[0]
    second = _results(run_dir)
    # all 4 scored now: 2 parking lots right of 4 -> 0.5, nothing failed
    assert second["errors"]["count"] == 0 and second["count"] == 4 and second["incomplete"] is False
    assert second["accuracy"] == 0.5
    lines = (shard_path(run_dir / "aid", 0, 1)).read_text().splitlines()
    assert len(lines) == 5  # the errored line stays in the file; readers keep the answer


def test_error_threshold_allows_a_share_of_failures(bench_root, qwen25_folder, tmp_path, make_config):
    config = make_config(
        qwen25_folder, bench_root, tmp_path, benchmarks=AID, plots=False, inference={"max_error_fraction": 0.25}
    )
    run_dir = run_evaluation(config, generate=FlakyGenerate(fail="golf_course_0"))
    assert _results(run_dir)["incomplete"] is False  # 1 of 4 failed: not above 0.25


def test_a_held_shard_stops_a_second_run_with_its_owner(bench_root, qwen25_folder, tmp_path, make_config):
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=AID, plots=False)
    path = lock_path(config.run_dir / "aid", 0, 1)
    with ShardLock(path):
        owner = json.loads(path.read_text())
        assert owner["host"] == socket.gethostname() and owner["pid"] == os.getpid()
        with pytest.raises(LockedError, match=rf"rank0-of-1 is being predicted by pid {os.getpid()}"):
            run_evaluation(config, generate=FlakyGenerate(fail=None))
    assert not path.exists()


def test_stale_locks_are_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "predictions.rank0-of-1.lock"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "started": 0}))
    with ShardLock(path):  # same host, no such process: stale
        assert json.loads(path.read_text())["pid"] == os.getpid()
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": 0}))
    with pytest.raises(LockedError, match="pid 1 on elsewhere"):
        ShardLock(path, stale_s=60).acquire()  # another host, refreshed just now: held
    old = time.time() - 120
    os.utime(path, (old, old))
    with ShardLock(path, stale_s=60):  # another host, not refreshed for 120 s > 60 s: stale
        pass


RUN = """
import sys, time
from rscovlm_eval import run_evaluation

def generate(conversations):
    time.sleep(0.2)
    return ["parking lot" for _ in conversations]

run_evaluation(sys.argv[1], generate=generate)
"""


def test_two_concurrent_runs_never_predict_a_sample_twice(bench_root, qwen25_folder, tmp_path, make_config):
    benchmarks = [*AID, {"name": "rsvqa-lr", "data": "rsvqa", "images": "rsvqa/Images_LR"}]
    config = make_config(
        qwen25_folder,
        bench_root,
        tmp_path,
        benchmarks=benchmarks,
        plots=False,
        generation={"batch_size": 1},
        inference={"wait_for_lock": True},
    )
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    runs = [subprocess.Popen([sys.executable, "-c", RUN, str(path)], stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-2000:]
    lines = [json.loads(line) for p in sorted(config.run_dir.glob("*/predictions.*.jsonl")) for line in p.open()]
    ids = [(e["dataset"], e["id"]) for e in lines]
    assert len(ids) == len(set(ids)) == 4 + 3  # aid: 4 scenes; the RSVQA-LR fixture: 3 questions
    assert not list(config.run_dir.glob("*/*.lock"))


def test_a_damaged_middle_line_stops_with_its_place_and_repair_drops_it(
    bench_root, qwen25_folder, tmp_path, make_config
):
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=AID, plots=False)
    run_dir = run_evaluation(config, generate=FlakyGenerate(fail=None))
    cache = shard_path(run_dir / "aid", 0, 1)
    lines = cache.read_text().splitlines(keepends=True)
    lines[1] = '{"id": "parking_lot_1", "predic\n'
    cache.write_text("".join(lines))
    cli = CliRunner()
    broken = cli.invoke(main, ["report", str(run_dir), "--no-plots"])
    assert broken.exit_code == 1 and f"{cache}:2: not a JSON line" in broken.output
    assert "Traceback" not in broken.output
    repaired = cli.invoke(main, ["report", str(run_dir), "--no-plots", "--repair"])
    assert f"dropped {cache}:2: not a JSON line" in repaired.output
    assert "have no prediction yet" in repaired.output  # the dropped sample must be predicted again
    assert len(cache.read_text().splitlines()) == 3
    again = FlakyGenerate(fail=None)
    run_evaluation(config, generate=again)
    assert len(again.asked) == 1 and _results(run_dir)["count"] == 4
