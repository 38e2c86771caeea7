"""report.html: one page to open from disk — the results tables, the plots, the training loss and a gallery per
benchmark with drawn predictions, filters and paging.

The tables are results.md's, rendered from results.json (never recomputed). Thumbnails (drawn by `drawing`) and the
training-loss plot go to `report_files/` beside the page; the script and style are inlined, nothing is fetched.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import re
import shutil
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from rscovlm_eval.drawing import LEGEND
from rscovlm_eval.samples import SampleView, benchmark_views, read_json
from rscovlm_eval.tables import results_markdown

PAGE = "report.html"
FILES = "report_files"
THUMBNAIL_SIDE = 192  # the gallery's overview images, longer side in pixels
CROP_SIDE = 128  # each zoom round's crop in the gallery
CHUNK = 250  # samples per worker task
JPEG_QUALITY = 70  # about 8 kB per 192-pixel aerial thumbnail: 5,000 samples stay under 50 MB
TRAINING_STATE = "trainer_state.json"


# ---- results.md as HTML ----


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text, quote=False))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str], section: str, keys: set[str]) -> str:
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    head = "".join(f"<th>{_inline(c)}</th>" for c in header)
    body = "".join(
        (f'<tr data-benchmark="{html.escape(r[0])}">' if r[0] in keys else "<tr>")
        + "".join(f"<td>{_inline(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return (
        f'<div class="wide"><table class="results" data-section="{html.escape(section)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def markdown_html(markdown: str, keys: Iterable[str]) -> str:
    """The subset of Markdown results.md uses (headings, paragraphs, tables, lists, images) as HTML."""
    keys, section, parts = set(keys), "", []
    for block in markdown.strip().split("\n\n"):
        lines = block.splitlines()
        if block.startswith("# "):
            continue  # the page's own title
        if block.startswith(("## ", "### ")):  # a task family's section, or a group of benchmarks holding them
            level, section = len(block.split(" ", 1)[0]), block.split(" ", 1)[1].strip()
            parts.append(f'<h{level} id="{_slug(section)}">{_inline(section)}</h{level}>')
        elif block.startswith("|"):
            parts.append(_table(lines, section, keys))
        elif block.startswith("!["):
            path = re.match(r"!\[[^\]]*\]\(([^)]+)\)", block).group(1)
            parts.append(
                f'<figure><img src="{html.escape(path)}" alt="{html.escape(path)}">'
                f"<figcaption>{html.escape(path)}</figcaption></figure>"
            )
        elif block.startswith("- "):
            parts.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        else:
            parts.append(f"<p>{_inline(block)}</p>")
    return "\n".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---- the training loss ----


def training_state(model: Path) -> Path | None:
    """The trainer state of the evaluated checkpoint, else of the last `checkpoint-N` beside it (a final export)."""
    if (model / TRAINING_STATE).is_file():
        return model / TRAINING_STATE
    states = list(model.parent.glob(f"checkpoint-*/{TRAINING_STATE}"))
    steps = {p: int(p.parent.name.rsplit("-", 1)[1]) for p in states if p.parent.name.rsplit("-", 1)[1].isdigit()}
    return max(steps, key=steps.get) if steps else None


def plot_training_loss(state: Path, path: Path) -> Path | None:
    """The logged loss per task (`loss_task/*`, else the overall `loss`) against the step; None when none is logged."""
    from rscovlm_eval.plots import _save, plt

    try:
        history = json.loads(state.read_text(encoding="utf-8")).get("log_history", [])
    except (OSError, json.JSONDecodeError):
        return None
    names = sorted({k for row in history for k in row if k.startswith("loss_task/")}) or ["loss"]
    series = {n: [(row["step"], row[n]) for row in history if n in row and "step" in row] for n in names}
    if not any(series.values()):
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in series.items():
        if points:
            ax.plot(*zip(*points, strict=True), label=name.removeprefix("loss_task/"), linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(f"training loss per task ({state.parent.name})")
    ax.legend(fontsize=7)
    return _save(fig, path)


# ---- the gallery ----


def _draw(view: SampleView, outs: list[Path]) -> str | None:
    """Draw a sample's overview and crops into `outs`; the reason when its image cannot be read."""
    from rs_resolution import ImageReadError

    from rscovlm_eval.drawing import sample_panels

    try:
        panels = sample_panels(view.image, view.shapes, view.windows, THUMBNAIL_SIDE, CROP_SIDE, font_size=0)
    except (ImageReadError, OSError, ValueError) as error:
        return f"image not drawn: {error}"
    for panel, out in zip(panels, outs, strict=True):
        panel.save(out, quality=JPEG_QUALITY)  # labels are listed in the card, not drawn on thumbnails
    return None


def _card(view: SampleView, folder: str, run_dir: Path) -> dict[str, Any]:
    names = [f"{view.index}.jpg", *(f"{view.index}_zoom{k + 1}.jpg" for k in range(len(view.windows)))]
    problem = _draw(view, [run_dir / FILES / folder / n for n in names]) if view.image else None
    if not view.image and view.error is None:
        problem = "the cache entry names no image"
    return {
        "b": view.benchmark,
        "id": view.id,
        "task": view.task,
        "ok": view.correct,
        "cls": view.classes,
        "img": [] if problem or not view.image else [f"{FILES}/{folder}/{n}" for n in names],
        "img_error": problem,
        "prompt": view.prompt,
        "answer": view.answer,
        "error": view.error,
        "refs": view.references,
        "parsed": [[s.label, [round(v, 1) for v in s.polygon]] for s in view.prediction],
        "dropped": [[d["fragment"], d["reason"]] for d in view.dropped],
        "zoom": [{"text": r["text"], "status": r["call_status"], "window": r["window"]} for r in view.zoom],
        "cache": view.cache,
    }


def _cards(job: tuple[Path, dict[str, Any], dict[str, Any], list[str], str]) -> list[dict[str, Any]]:
    """The cards of some samples of one benchmark, their thumbnails drawn into report_files/FOLDER."""
    run_dir, bench, run, ids, folder = job
    return [_card(view, folder, run_dir) for view in benchmark_views(run_dir, bench, run, ids=set(ids))]


def _gallery(run_dir: Path, run: dict[str, Any], benches: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    """Every sample's card, built and drawn in chunks on `workers` processes, and the prompts the cards share (by
    index: a benchmark asks most samples the same way)."""
    jobs = []
    for i, bench in enumerate(benches):
        (run_dir / FILES / f"b{i}").mkdir(parents=True)
        ids = read_json(run_dir / bench["key"] / "manifest.json")["ids"]
        jobs += [(run_dir, bench, run, ids[k : k + CHUNK], f"b{i}") for k in range(0, len(ids), CHUNK)]
    if workers > 1 and len(jobs) > 1:
        if any(b["metric"] == "lrs_vqa" for b in benches):
            from rscovlm_eval.metrics.wordnet import load_wordnet

            load_wordnet()  # once, inherited by the forked workers
        fork = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        with ProcessPoolExecutor(workers, mp_context=fork) as pool:
            chunks = list(pool.map(_cards, jobs))
    else:
        chunks = [_cards(job) for job in jobs]
    prompts: dict[str, int] = {}
    samples = [card for chunk in chunks for card in chunk]
    for card in samples:
        if card["prompt"] is not None:
            card["prompt"] = prompts.setdefault(card["prompt"], len(prompts))
    return {"samples": samples, "prompts": list(prompts)}


def _select(name: str, label: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
    return (
        f'<label>{label} <select id="filter-{name}" data-filter="{name}"><option value="">all</option>'
        f"{options}</select></label>"
    )


def _asset(name: str) -> str:
    return resources.files("rscovlm_eval").joinpath(name).read_text(encoding="utf-8")


def write_html_report(run_dir: Path, workers: int | None = None) -> Path:
    """Write RUN_DIR/report.html (and report_files/) from results.json and the prediction caches; return its path."""
    results = read_json(run_dir / "results.json")
    run = read_json(run_dir / "run.json")
    benches = [b for b in run["benchmarks"] if b["key"] in results["benchmarks"]]
    shutil.rmtree(run_dir / FILES, ignore_errors=True)
    gallery = _gallery(run_dir, run, benches, workers or min(8, os.cpu_count() or 1))
    tables = markdown_html(results_markdown(results), results["benchmarks"])
    state = training_state(Path(run["config"]["model"]))
    loss = plot_training_loss(state, run_dir / FILES / "training_loss.png") if state else None
    training = (
        f'<h2 id="training">Training loss</h2><figure><img src="{FILES}/training_loss.png" alt="training loss">'
        f"<figcaption>{html.escape(str(state))}</figcaption></figure>"
        if loss
        else ""
    )
    galleries = "".join(
        f'<div class="gallery" data-benchmark="{html.escape(b["key"])}"><h3>{html.escape(b["key"])} '
        f'<span class="task">({html.escape(b["task"])})</span><span class="count"></span></h3>'
        '<div class="pager"><button class="prev">&lsaquo; previous</button><span class="page"></span>'
        '<button class="next">next &rsaquo;</button></div><div class="cards"></div></div>'
        for b in benches
    )
    filters = "".join(
        [
            _select("benchmark", "Benchmark", [b["key"] for b in benches]),
            _select("task", "Task", sorted({b["task"] for b in benches})),
            _select("outcome", "Outcome", ["correct", "wrong", "unscored", "error"]),
            _select("cls", "Class", sorted({c for card in gallery["samples"] for c in card["cls"]})),
        ]
    )
    data = json.dumps(gallery, ensure_ascii=False).replace("</", "<\\/")
    legend = "".join(f'<span style="background:rgb{colour}"></span>{name}' for name, colour in LEGEND.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation of {html.escape(results["model"])}</title>
<style>{_asset("html_report.css")}</style></head>
<body>
<header><h1>Evaluation of <code>{html.escape(results["model"])}</code></h1>
<nav><a href="#results">Results</a><a href="#plots">Plots</a>{'<a href="#training">Training</a>' if loss else ""}
<a href="#gallery">Gallery</a><a href="results.json">results.json</a></nav></header>
<section id="results">{tables}</section>
{training}
<section id="gallery"><h2>Samples</h2><p class="legend">{legend}</p>
<div id="filters">{filters}</div>{galleries}</section>
<script type="application/json" id="samples">{data}</script>
<script>{_asset("html_report.js")}</script>
</body></html>
"""
    out = run_dir / PAGE
    out.write_text(page, encoding="utf-8")
    return out
