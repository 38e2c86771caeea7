"""Train → evaluate through both apps, with expectations that come from the data, not from the code.

The tiny model is trained until it memorises one small set of samples of every task, then `rscovlm-eval run` scores
those same samples from the settings file the training wrote (no eval-side resolution or prompt settings). A model
that memorised its targets can only score perfectly if the evaluation asks in the same pixels, the same prompts and
the same coordinate convention as the training, and reads the answers back the same way: a wrong budget or a wrong
convention anywhere on the path makes the scores below fail. The expected scores are the maxima of each metric (and
every ground truth is read from the annotation files), never answers built by the renderer under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from rs_data import Record, read_records, write_records
from rs_zoom import BuildConfig, build_zoom_dataset
from rscovlm_eval.cli import main as eval_main
from rscovlm_model import build_tiny_checkpoint
from rscovlm_train.config import parse_config
from rscovlm_train.demo import LRS_VQA_FILES
from rscovlm_train.evaluation import EVAL_CONFIG_NAME
from rscovlm_train.run import train

pytestmark = pytest.mark.slow

FAMILIES = {"qwen2_5_vl": (28, "absolute"), "qwen3_vl": (32, "relative1000")}
STEPS = 200


def _subset(source: Path, target: Path, pick, edit=None) -> Path:
    """Write the records of ``source`` chosen by ``pick`` (a function of the list) to ``target``."""
    records = pick(list(read_records(source)))
    write_records(target, [edit(r) for r in records] if edit else records)
    return target


def _one_caption(record: Record) -> Record:
    """Keep the first reference sentence, so the memorised caption is the one reference it is scored against."""
    annotation = record.annotation.model_copy(update={"captions": record.annotation.captions[:1]})
    return record.model_copy(update={"annotation": annotation})


def _one_per_class(records: list[Record]) -> list[Record]:
    seen: dict[str, Record] = {}
    for record in records:
        seen.setdefault(record.annotation.label, record)
    return list(seen.values())[:2]


def _zoom_row(sources: Path, out: Path) -> Path:
    """The first LRS-VQA training row with an evidence box (a question the Zoom-in Chain answers)."""
    rows = [json.loads(line) for line in (sources / LRS_VQA_FILES["train"]).read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if r.get("hbox"))
    out.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return out


def _prepare(demo_dir: Path, root: Path, family: str) -> dict[str, Any]:
    factor, convention = FAMILIES[family]
    data = root / "records"
    data.mkdir()
    train_dir, heldout_dir = demo_dir / "records" / "train", demo_dir / "records" / "heldout"
    files = {
        "classification": _subset(train_dir / "ucmerced.jsonl", data / "scenes.jsonl", _one_per_class),
        "captioning": _subset(
            train_dir / "sydney_captions.jsonl", data / "captions.jsonl", lambda r: r[:1], _one_caption
        ),
        "vqa": _subset(train_dir / "rsvqa_lr.jsonl", data / "vqa.jsonl", lambda r: r),
        "grounding": _subset(heldout_dir / "dior_rsvg.jsonl", data / "grounding.jsonl", lambda r: r),
        "poly": _subset(train_dir / "hrsc2016.jsonl", data / "ships.jsonl", lambda r: r),
        "hbb": _subset(heldout_dir / "dior_r.jsonl", data / "dior.jsonl", lambda r: r),
    }
    policy = {"factor": factor, "min_pixels": 4 * factor**2, "max_pixels": 64 * factor**2}
    row = _zoom_row(demo_dir / "sources", root / "zoom_row.jsonl")
    images = demo_dir / "sources" / "lrs_vqa" / "images"
    build = BuildConfig(split="train", policy=policy, convention=convention)
    build_zoom_dataset(row, images, data / "zoom", build)
    model = build_tiny_checkpoint(root / "model", family, hidden_size=192, num_layers=3)
    poly, hbb = {"box_types": {"poly": 1}}, {"box_types": {"hbb": 1}}
    return {
        "seed": 0,
        "model": {"path": str(model), "family": family, "attn_implementation": "sdpa"},
        "data": {
            "root": str(data),
            "mixture": {
                "datasets": [
                    {"name": "scenes", "path": "scenes.jsonl", "repeat": 2},
                    {"name": "captions", "path": "captions.jsonl", "repeat": 2},
                    {"name": "vqa", "path": "vqa.jsonl"},
                    {"name": "grounding", "path": "grounding.jsonl", "repeat": 2, "render": hbb},
                    {"name": "ships", "path": "ships.jsonl", "repeat": 2, "render": poly},
                    {"name": "dior", "path": "dior.jsonl", "repeat": 3, "render": hbb},
                    {"name": "zoom", "path": "zoom/records.jsonl", "repeat": 2},
                ]
            },
            "resolution": policy,
            "render": {"convention": convention, "styles": {"plain": 1}},
            "max_length": 1024,
        },
        "optim": {
            "lr": 3e-3,
            "scheduler": "constant_with_warmup",
            "warmup_ratio": 0.05,
            "max_steps": STEPS,
            "per_device_batch_size": 4,
        },
        "output": {"dir": str(root / "run"), "save_steps": STEPS, "logging_steps": 10, "report_to": []},
        "evaluation": {
            "benchmarks": [
                {"name": "ucmerced", "data": str(files["classification"]), "format": "records"},
                {"name": "sydney-captions", "data": str(files["captioning"]), "format": "records"},
                {"name": "rsvqa-lr", "data": str(files["vqa"]), "format": "records"},
                {"name": "dior-rsvg", "data": str(files["grounding"]), "format": "records"},
                {"name": "hrsc2016", "data": str(files["poly"]), "format": "records", "box_type": "poly"},
                {"name": "dior-r", "data": str(files["hbb"]), "format": "records", "box_type": "hbb"},
                {"name": "lrs-vqa", "data": str(row), "images": str(images), "zoom": True},
            ],
            "generation": {"batch_size": 8, "max_new_tokens": 96},
            "plots": False,
            "progress": False,
        },
    }


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def memorized(request, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """(the training config data, the run's output folder) after training and the final evaluation."""
    root = tmp_path_factory.mktemp(f"memorize-{request.param}")
    data = _prepare(demo_dir, root, request.param)
    result = train(parse_config(data))
    assert result.report is not None
    return data, Path(data["output"]["dir"])


def _results(output: Path) -> dict[str, Any]:
    run = output / "eval" / output.name
    return json.loads((run / "results.json").read_text(encoding="utf-8"))["benchmarks"]


def test_every_task_is_recovered_from_the_checkpoint_settings(memorized):
    _, output = memorized
    results = _results(output)
    assert results["ucmerced"]["accuracy"] == 1.0
    assert results["sydney-captions"]["BLEU-4"] == pytest.approx(1.0)
    assert results["rsvqa-lr"]["accuracy"] == 1.0
    assert results["dior-rsvg"]["acc@0.5"] == 1.0
    for detection in ("hrsc2016", "dior-r"):  # DOTA_devkit's mAP averages over every class: read the ones with objects
        found = {c: r["ap"] for c, r in results[detection]["per_class"].items() if r["num_gt"]}
        assert found and min(found.values()) >= 0.95, (detection, found)
        assert results[detection]["map_mmrotate"] >= 0.95
    zoom = results["lrs-vqa+zoom"]
    assert zoom["zoom"]["zoom_rate"] == 1.0 and zoom["accuracy"] == 1.0


def test_the_written_eval_config_reruns_in_the_eval_app_unchanged(memorized, tmp_path):
    """`rscovlm-eval run OUTPUT/eval.yaml`, the file training wrote, loads as it is and scores the same."""
    _, output = memorized
    config = yaml.safe_load((output / EVAL_CONFIG_NAME).read_text(encoding="utf-8"))
    assert "resolution" not in config and "render" not in config  # read from the checkpoint, not copied
    result = CliRunner().invoke(
        eval_main, ["run", str(output / EVAL_CONFIG_NAME), "--output-dir", str(tmp_path), "--run-name", "again"]
    )
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again" / "results.json").read_text(encoding="utf-8"))
    assert again["benchmarks"] == _results(output)
    assert again["spec"]["sources"]["resolution"] == "checkpoint" and again["spec"]["overrides"] == []
