"""report.html and `rscovlm-eval show`, looked at as a person would: in headless Chromium through the DevTools
protocol (Debian's `chromium`; the browser tests skip only where it is absent), and pixel by pixel."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from rscovlm_eval import run_evaluation
from rscovlm_eval.cli import main
from rscovlm_eval.drawing import PREDICTION, TRUTH
from rscovlm_eval.html_report import FILES, PAGE, THUMBNAIL_SIDE
from rscovlm_eval.report import write_report
from rscovlm_eval.testing import (
    CARDS,
    SIDE,
    VISIBLE,
    check_report_page,
    needs_chromium,
    synthetic_run,
)

DATA = Path(__file__).parent / "data"
PHOTO = DATA / "dior_r" / "00001.jpg"  # the real aerial photo the synthetic runs crop


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_show_draws_truth_and_prediction_where_they_are(tmp_path, convention):
    run_dir = synthetic_run(tmp_path, 2, PHOTO, convention)
    out = tmp_path / "figure.png"
    result = CliRunner().invoke(main, ["show", str(run_dir), "s0001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(wrong), 1 truth and 1 predicted shapes" in result.output
    figure = np.asarray(Image.open(out).convert("RGB"))
    assert figure.shape[1] >= SIDE and figure.shape[0] >= SIDE  # 600 px fit in the default 1600: drawn at scale 1
    row = figure[150]  # halfway down both boxes (y 60..240)

    def colour_near(x: int, colour: tuple[int, int, int]) -> bool:
        return any(tuple(p) == colour for p in row[x - 3 : x + 4])

    assert colour_near(120, TRUTH) and not colour_near(120, PREDICTION)  # truth x 120..300
    assert colour_near(480, PREDICTION) and not colour_near(480, TRUTH)  # prediction x 300..480
    assert not colour_near(210, TRUTH) and not colour_near(390, PREDICTION)  # outlines, not filled


def test_show_names_what_is_wrong(tmp_path):
    run_dir = synthetic_run(tmp_path, 1, PHOTO)
    result = CliRunner().invoke(main, ["show", str(run_dir), "nope", "--out", str(tmp_path / "f.png")])
    assert result.exit_code != 0 and "no sample 'nope'" in result.output
    result = CliRunner().invoke(main, ["show", str(run_dir), "s0000", "--benchmark", "aid", "--out", "f.png"])
    assert result.exit_code != 0 and "has no benchmark 'aid'" in result.output


def page_bytes(run_dir: Path) -> int:
    return (run_dir / PAGE).stat().st_size + sum(p.stat().st_size for p in (run_dir / FILES).rglob("*") if p.is_file())


def test_page_carries_thumbnails_not_originals(tmp_path):
    run_dir = synthetic_run(tmp_path, 80, PHOTO)
    write_report(run_dir, plots=False, html=True)
    thumbnails = sorted((run_dir / FILES / "b0").iterdir())
    assert len(thumbnails) == 80
    assert all(max(Image.open(p).size) == THUMBNAIL_SIDE for p in thumbnails)
    # 50 MB for 5,000 samples is 10 kB a sample, page text included
    assert page_bytes(run_dir) / 80 < 10_000, page_bytes(run_dir)


def test_the_report_benchmark_runs_and_prints_its_figures():
    script = Path(__file__).parents[3] / "benchmarks" / "rscovlm_eval_html_report.py"
    result = subprocess.run([sys.executable, str(script), "--samples", "12"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seconds = re.search(r"12 samples: rscovlm-eval report --html in ([0-9.]+) s", result.stdout)
    assert re.search(r"the page alone: ([0-9.]+) s on 1 process, ([0-9.]+) s on", result.stdout)
    size = re.search(r"page and thumbnails: ([0-9.]+) MB", result.stdout)
    assert seconds and size and 0 < float(size.group(1)) < 1, result.stdout


def test_training_loss_of_the_last_checkpoint_beside_the_model(tmp_path):
    run_dir = synthetic_run(tmp_path, 2, PHOTO)  # the model is tmp_path/model; checkpoints lie beside it
    for step in (3, 7):
        history = [{"step": s, "loss": 2.0, "loss_task/detection": 1.0 / s} for s in range(1, step + 1)]
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    write_report(run_dir, plots=False, html=True)
    page = (run_dir / PAGE).read_text()
    assert f'<img src="{FILES}/training_loss.png"' in page and "checkpoint-7/trainer_state.json" in page
    assert Image.open(run_dir / FILES / "training_loss.png").size[0] > 100


# ---- the browser ----


@needs_chromium
def test_gallery_pages_through_a_benchmark(tmp_path, chromium):
    run_dir = synthetic_run(tmp_path, 60, PHOTO)
    write_report(run_dir, plots=False, html=True)
    chromium.open(run_dir / PAGE)
    first_ids = f"{CARDS}.map(c => c.dataset.id)"
    assert chromium.evaluate(first_ids) == [f"s{i:04d}" for i in range(24)]
    assert chromium.evaluate("document.querySelector('.gallery .page').textContent") == "page 1 of 3"
    chromium.evaluate("document.querySelector('.gallery .next').click()")
    assert chromium.evaluate(first_ids) == [f"s{i:04d}" for i in range(24, 48)]
    assert chromium.evaluate("document.querySelector('.gallery .page').textContent") == "page 2 of 3"
    chromium.choose("outcome", "wrong")  # the odd samples; a filter starts again on page 1
    assert chromium.evaluate(first_ids) == [f"s{i:04d}" for i in range(1, 48, 2)]
    assert chromium.evaluate(VISIBLE) == [["dota1.0", 30]]


# ---- the report of every benchmark family, some answers wrong ----


FAMILY_BENCHMARKS = ["aid", "sydney-captions", "rsvqa-lr", "dior-rsvg", "dota1.0", "dota1.0-test", "lrs-vqa",
                     "mme-realworld-rs"]  # fmt: skip


@pytest.fixture(scope="module")
def report_run(bench_root, qwen25_folder, tmp_path_factory, make_config, oracle_class, all_benchmarks):
    """A fixture benchmark of every metric family (LRS-VQA with and without zoom) answered by the oracle, except
    every third reply, which is wrong."""
    chosen = [b for b in all_benchmarks if b["name"] in FAMILY_BENCHMARKS]
    config = make_config(qwen25_folder, bench_root, tmp_path_factory.mktemp("html-report"), chosen, html=True)
    oracle = oracle_class(config)

    def generate(conversations):
        answers = oracle(conversations)
        first = oracle.calls - len(answers)
        return [a if (first + i) % 3 else "I cannot tell." for i, a in enumerate(answers)]

    run_dir = run_evaluation(config, generate=generate)  # `html: true` writes report.html with the report
    return run_dir, json.loads((run_dir / "results.json").read_text())


@pytest.mark.slow
@needs_chromium
def test_report_in_chromium(report_run, chromium, tmp_path_factory):
    run_dir, _ = report_run
    benchmarks, sizes = check_report_page(chromium, run_dir)
    assert {"aid", "lrs-vqa", "lrs-vqa+zoom", "dota1.0", "dota1.0-test"} <= set(benchmarks)

    # a Zoom-in Chain's card shows the overview and the crop of its zoom round (the oracle zooms once)
    images = "[...document.querySelectorAll('.gallery[data-benchmark=\"KEY\"] .card')]"
    images += ".map(c => c.querySelectorAll('img').length)"
    assert set(chromium.evaluate(images.replace("KEY", "lrs-vqa"))) == {1}
    zoomed = {  # chains are cached as they finish; cards follow the benchmark's order
        r["id"]: r["zoom"]["rounds"]
        for r in map(json.loads, (run_dir / "lrs-vqa+zoom" / "predictions.rank0-of-1.jsonl").read_text().splitlines())
    }
    cards = images.replace("KEY", "lrs-vqa+zoom").replace("c.querySelectorAll", "[c.dataset.id, c.querySelectorAll")
    cards = cards.replace(".length)", ".length])")
    assert dict(chromium.evaluate(cards)) == {k: 1 + n for k, n in zoomed.items()} and any(zoomed.values())

    # filters: correct samples per benchmark match the accuracy in results.json; wrong ones are the rest
    chromium.choose("outcome", "correct")
    correct = dict(chromium.evaluate(VISIBLE))
    scored = ["aid", "rsvqa-lr", "dior-rsvg", "lrs-vqa", "lrs-vqa+zoom", "mme-realworld-rs"]
    for key, field in [(k, "acc@0.5" if k == "dior-rsvg" else "accuracy") for k in scored]:
        assert correct[key] == round(benchmarks[key][field] * benchmarks[key]["count"]), key
    assert chromium.evaluate(f"{CARDS}.every(c => c.dataset.outcome === 'correct')")
    chromium.choose("outcome", "wrong")
    wrong = dict(chromium.evaluate(VISIBLE))
    assert wrong["aid"] == sizes["aid"] - correct["aid"] and sum(wrong.values()) > 0
    assert chromium.evaluate(f"{CARDS}.every(c => c.dataset.outcome === 'wrong')")
    chromium.choose("outcome", "")
    chromium.choose("benchmark", "dota1.0")
    assert chromium.evaluate(VISIBLE) == [["dota1.0", sizes["dota1.0"]]]
    chromium.choose("benchmark", "")
    chromium.choose("task", "detection")
    shown = dict(chromium.evaluate(VISIBLE))
    assert {k for k, n in shown.items() if n} == {"dota1.0", "dota1.0-test"}
    chromium.choose("task", "")
    chromium.choose("cls", "golf_course")  # the aid fixture's second scene class
    assert dict(chromium.evaluate(VISIBLE))["aid"] == 2
    assert chromium.evaluate(f"{CARDS}.every(c => c.querySelector('.classes').textContent.includes('golf_course'))")
    chromium.choose("cls", "")

    chromium.evaluate("document.querySelector('.gallery[data-benchmark=\"dota1.0\"]').scrollIntoView()")
    shot = chromium.screenshot(tmp_path_factory.getbasetemp() / "report_screenshot.png")
    print(f"screenshot: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
