"""Pytest helpers that look at report.html as a person would: headless Chromium driven over the DevTools protocol.

Use the fixture from a ``conftest.py`` (``from rscovlm_eval.testing import chromium  # noqa: F401``) and check a run
folder's page with :func:`check_report_page`. Chromium is Debian's ``chromium`` package; the fixture skips where it
is absent. This is the one module of the package that needs pytest and websocket-client (test dependencies, not
runtime ones); no other module imports it.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

try:
    import pytest
except ImportError as error:
    raise ImportError("rscovlm_eval.testing holds pytest helpers: it needs pytest, a test dependency") from error

from PIL import Image

from rscovlm_eval.config import load_config
from rscovlm_eval.html_report import PAGE
from rscovlm_eval.model_settings import model_spec
from rscovlm_eval.tables import SECTIONS

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1280,1600",
]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
)
VISIBLE = "[...document.querySelectorAll('.gallery:not([hidden])')].map(g => [g.dataset.benchmark, +g.dataset.visible])"
CARDS = "[...document.querySelectorAll('.gallery:not([hidden]) .card')]"


class Chromium:
    """Headless Chromium driven through the DevTools protocol over its loopback websocket."""

    def __init__(self, profile: Path) -> None:
        import websocket

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"  # Chromium writes its port here once it listens
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.process.poll() is None, "chromium exited before it listened"
            assert time.monotonic() < deadline, "chromium did not start within 60 s"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.calls = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.calls:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, path: Path) -> None:
        self.call("Page.navigate", url=path.as_uri())
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState === 'complete' && document.body.dataset.ready === 'true'") is not True:
            assert time.monotonic() < deadline, f"{path} did not finish loading"
            time.sleep(0.1)

    def choose(self, name: str, value: str) -> None:
        """Pick `value` in the gallery filter `name`, as a click in the drop-down does."""
        self.evaluate(
            f"(() => {{ const s = document.getElementById('filter-{name}'); s.value = {json.dumps(value)};"
            " s.dispatchEvent(new Event('change')); })()"
        )

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


FIELDS = {
    "Acc": "accuracy",
    "OA": "accuracy",
    "Overall": "accuracy",
    "Acc (contain)": "contain_accuracy",
    "AA": "average_accuracy",
    "Acc@0.5 (IoU > 0.5)": "acc@0.5",
    "mIoU": "mean_iou",
    "mAP (DOTA devkit)": "map_devkit",
    "mAP (mmrotate)": "map_mmrotate",
    **{m: m for m in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-1", "ROUGE-L", "CIDEr")},
}


def expected_cell(metric: str, headers: list[str], header: str, result: dict[str, Any]) -> str:
    """The text a table cell must show, read off results.json."""
    zoom = result.get("zoom", {})
    if header == "N":
        return str(result["count"])
    if header == "Errors":
        return str(result.get("errors", {}).get("count", 0))
    special = {
        "mAP_nc": lambda: pct(result["map_nc"]["map"]),
        "mF1": lambda: pct(result["mf1"]["f1"]),
        "Count MAE": lambda: "-" if result.get("count_mae") is None else f"{result['count_mae']:.2f}",
        "Zoom rate": lambda: pct(zoom.get("zoom_rate")),
        "Rounds": lambda: "-" if not zoom else f"{zoom['mean_rounds']:.2f}",
    }
    if header in special:
        return special[header]()
    if metric == "lrs_vqa" and header.split(" ")[-1] in ("OA", "AA"):  # overall / average accuracy, per source
        field = {"OA": "accuracy", "AA": "average_accuracy"}[header.split(" ")[-1]]
        scope = result if " " not in header else result["per_source"].get(header.rsplit(" ", 1)[0], {})
        return pct(scope.get(field))
    if header.startswith("Acc ") and header[4:] in ("small", "medium", "large"):
        return pct(result["by_size"].get(header[4:], {}).get("accuracy"))
    if header in FIELDS:
        return pct(result.get(FIELDS[header]))
    if metric == "detection":
        return pct(result["per_class"].get(header, {}).get("ap"))
    group = {"vqa": "per_type", "lrs_vqa": "per_source" if "Overall" in headers else "per_category"}.get(
        metric, "per_category"
    )
    return pct(result[group].get(header, {}).get("accuracy"))


def source_cell(result: dict[str, Any], source: str, category: str) -> str:
    """A cell of LRS-VQA's source x category table (the row `all`: every source)."""
    scope = result if source == "all" else result["per_source"].get(source, {})
    return pct(scope.get("per_category", {}).get(category, {}).get("accuracy"))


def check_report_page(chromium: Chromium, run_dir: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Open RUN_DIR/report.html and check what every report must show; returns results.json's benchmarks and the
    number of samples of each.

    Every benchmark has its table row (an export-only one its Task1 line) and a gallery with all its samples; every
    table cell is results.json's number; every thumbnail loads from disk; each card links the cache line holding its
    sample; the outcome filter splits each gallery into its correct, wrong, unscored and errored samples.
    """
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    benchmarks = results["benchmarks"]
    sizes = {k: len(json.loads((run_dir / k / "manifest.json").read_text())["ids"]) for k in benchmarks}
    chromium.open(run_dir / PAGE)

    rows = chromium.evaluate("[...document.querySelectorAll('tr[data-benchmark]')].map(r => r.dataset.benchmark)")
    text = chromium.evaluate("document.getElementById('results').textContent")
    for key, result in benchmarks.items():
        assert key in rows or ("task1" in result and f"{key}: {result['objects']} objects" in text), key
    assert chromium.evaluate(VISIBLE) == [[k, sizes[k]] for k in benchmarks]

    tables = chromium.evaluate(
        "[...document.querySelectorAll('table.results')].map(t => ({section: t.dataset.section,"
        " headers: [...t.querySelectorAll('thead th')].map(h => h.textContent),"
        " rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.children].map(c => c.textContent))}))"
    )
    metric_of = {title: metric for metric, (title, _) in SECTIONS.items()}
    for table in tables:
        metric = metric_of[table["section"]]
        for row in table["rows"]:
            for header, cell in zip(table["headers"][1:], row[1:], strict=True):
                if table["headers"][0] == "Source":  # an LRS-VQA source x category table: one of its benchmarks'
                    assert cell in {
                        source_cell(r, row[0], header) for r in benchmarks.values() if r["metric"] == metric
                    }
                else:
                    assert cell == expected_cell(metric, table["headers"], header, benchmarks[row[0]]), (row[0], header)
    scored = {r["metric"] for r in benchmarks.values() if r.get("count")}
    assert {metric_of[t["section"]] for t in tables} == scored

    assert chromium.evaluate(f"{CARDS}.flatMap(c => [...c.querySelectorAll('img')]).every(i => i.naturalWidth > 0)")
    for sample_id, link in chromium.evaluate(
        f"{CARDS}.map(c => [c.dataset.id, c.querySelector('a.cache').textContent])"
    ):
        path, line = re.fullmatch(r"(.+):(\d+)", link).groups()
        assert json.loads((run_dir / path).read_text().splitlines()[int(line) - 1])["id"] == sample_id

    shown = {}
    for outcome in ("correct", "wrong", "unscored", "error"):
        chromium.choose("outcome", outcome)
        shown[outcome] = dict(chromium.evaluate(VISIBLE))
        assert chromium.evaluate(f"{CARDS}.every(c => c.dataset.outcome === {json.dumps(outcome)})")
    chromium.choose("outcome", "")
    for key in benchmarks:
        assert sum(shown[o].get(key, 0) for o in shown) == sizes[key], key
    return benchmarks, sizes


# ---- a scored detection run folder, written without a model ----

SIDE = 600  # synthetic images are 600 x 600 crops of a real aerial photo, seen by the model at 300 x 300
TRUTH_BOX = (120, 60, 300, 240)  # x1, y1, x2, y2 in original pixels
# The same box and one 180 px to the right (IoU 0), written as each family would: absolute = original / 2,
# relative1000 = original * 1000 / 600.
ANSWERS = {  # polygons, the default box type
    "absolute": {True: "60,30,150,30,150,120,60,120 plane", False: "150,30,240,30,240,120,150,120 plane"},
    "relative1000": {True: "200,100,500,100,500,400,200,400 plane", False: "500,100,800,100,800,400,500,400 plane"},
}
FAMILIES = {"absolute": ("qwen2_5_vl", 28), "relative1000": ("qwen3_vl", 32)}


def aerial_images(folder: Path, count: int, photo_path: Path) -> list[Path]:
    """`count` distinct 600 x 600 crops of an aerial photo of at least 760 x 760 (real texture, so thumbnails weigh
    what real ones do), cycling over 25 offsets and flips."""
    photo = Image.open(photo_path).convert("RGB")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        dx, dy = 40 * (i % 5), 40 * (i // 5 % 5)
        crop = photo.crop((dx, dy, dx + SIDE, dy + SIDE))
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i // 25 % 2 else crop
        paths.append(folder / f"{i:05d}.jpg")
        crop.save(paths[-1], quality=90)
    return paths


def synthetic_run(root: Path, count: int, photo: Path, convention: str = "absolute") -> Path:
    """A detection run of `count` samples as `rscovlm-eval run` lays it out, on crops of `photo`: even samples
    found the plane, odd ones answered a box beside it."""
    family, _ = FAMILIES[convention]
    (root / "model").mkdir(parents=True)
    (root / "model" / "config.json").write_text(json.dumps({"model_type": family}))
    config = load_config(
        {"model": str(root / "model"), "family": family, "benchmarks": [{"name": "dota1.0"}], "output_dir": str(root)}
    )
    run_dir, images = root / "run", aerial_images(root / "images", count, photo)
    bench = {
        "name": "dota1.0",
        "key": "dota1.0",
        "metric": "detection",
        "task": "detection",
        "classes": "dota1.0",
        "export_only": False,
        "zoom": False,
        "merge_patches": False,
    }
    folder = run_dir / "dota1.0"
    folder.mkdir(parents=True)
    run = {
        "spec": model_spec(config).to_dict(),
        "benchmarks": [bench],
        "config": config.model_dump(mode="json"),
    }
    (run_dir / "run.json").write_text(json.dumps(run))
    ids = [f"s{i:04d}" for i in range(count)]
    (folder / "manifest.json").write_text(json.dumps({"ids": ids, "skipped": []}))
    x1, y1, x2, y2 = TRUTH_BOX
    target = {
        "kind": "detection",
        "objects": [{"label": "plane", "polygon": [x1, y1, x2, y1, x2, y2, x1, y2], "difficult": False}],
        "classes": ["plane"],
    }
    frame = {"width": SIDE, "height": SIDE, "resized_width": SIDE // 2, "resized_height": SIDE // 2}
    lines = [
        json.dumps(
            {
                "id": sample_id,
                "dataset": "dota",
                "image": str(image),
                "target": target,
                "meta": {},
                "frame": frame,
                "prediction": ANSWERS[convention][i % 2 == 0],
            }
        )
        for i, (sample_id, image) in enumerate(zip(ids, images, strict=True))
    ]
    (folder / "predictions.rank0-of-1.jsonl").write_text("\n".join(lines) + "\n")
    return run_dir
