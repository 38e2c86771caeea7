"""`rscovlm-train demo`: the whole pipeline on a bundled mini data set and a tiny model, in minutes on a CPU.

Steps: copy the bundled real annotation files (see ``demo_data/PROVENANCE.md``) and generate the images they do not ship
with; convert every source with rs-data's readers into training and held-out records, except LRS-VQA's training rows,
which rs-zoom's builder turns into LRS-VQA-Zoom records (one Zoom-in Chain round for each question with an evidence box,
plain answers for the others); build the tiny Qwen2.5-VL checkpoint; co-train on the mixture with
``demo_data/demo.yaml`` (the same run as ``configs/demo.yaml``) until it has memorised most training samples;
evaluate them and the held-out samples of every task with rscovlm-eval, LRS-VQA both directly and through the Zoom-in
Chain, and write the report (results.md and report.html).

LRS-VQA's images are 1500 to 4000 pixels a side. To stay small and fast the demo generates them at a quarter of
that (``LRS_VQA_SCALE``) and divides the pixel geometry of the rows it copies (``image_size``, the evidence ``hbox``
and ``rbox``) by the same factor, so that images and annotations agree; the bundled rows stay as published.
"""

from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image
from rs_data import write_records
from rs_data.readers import READERS
from rs_zoom import BuildConfig, Manifest, build_zoom_dataset

from rscovlm_train.config import TrainConfig, parse_config

DEMO_CONFIG = "demo.yaml"
# Class names of UC Merced Land Use; the generated images differ in colour per class so that they can be told apart.
SCENE_CLASSES = {
    "agricultural": (90, 140, 60),
    "beach": (210, 190, 140),
    "forest": (30, 80, 40),
    "parkinglot": (120, 120, 125),
}
SCENES_PER_CLASS = {"train": 1, "heldout": 1}
LRS_VQA_FILES = {"train": "lrs_vqa/LRS_VQA_train.jsonl", "heldout": "lrs_vqa/LRS_VQA_heldout.jsonl"}
LRS_VQA_SCALE = 4  # the demo's LRS-VQA images and their rows' pixel geometry are this many times smaller
DEMO_MODEL_WIDTH, DEMO_MODEL_DEPTH = 192, 3  # wide enough to memorise its training samples in a few minutes
ZOOM_RECORDS = "lrs_vqa_zoom"  # the LRS-VQA-Zoom build under records/train (records.jsonl, images/, manifest.json)


@dataclass(frozen=True)
class Conversion:
    """One rs-data reader run that produces a records file of the demo."""

    name: str
    split: str
    reader: str
    source: str
    options: dict[str, Any]


CONVERSIONS = [
    Conversion("dota", "train", "dota", "dota", {}),
    Conversion("hrsc2016", "train", "hrsc2016", "hrsc2016/Annotations", {"images": "hrsc2016/AllImages"}),
    Conversion(
        "sydney_captions",
        "train",
        "captions",
        "captions/dataset_sydney_subset.json",
        {"images": "captions/images", "split": "train", "dataset": "sydney-captions"},
    ),
    Conversion("ucmerced", "train", "classification", "scenes/train", {"dataset": "ucmerced"}),
    Conversion("rsvqa_lr", "train", "rsvqa", "rsvqa", {"prefix": "LR_split_train", "images": "rsvqa/images"}),
    # the training rows as LRS-VQA records, to evaluate the trained questions (training reads the zoom build)
    Conversion("lrs_vqa", "train", "lrs-vqa", LRS_VQA_FILES["train"], {"images": "lrs_vqa/images"}),
    Conversion("dior_r", "heldout", "dior-r", "dior/Annotations", {"images": "dior/JPEGImages"}),
    Conversion("dior_rsvg", "heldout", "dior-rsvg", "dior_rsvg", {"images": "dior/JPEGImages"}),
    Conversion(
        "sydney_captions",
        "heldout",
        "captions",
        "captions/dataset_sydney_subset.json",
        {"images": "captions/images", "split": "test", "dataset": "sydney-captions"},
    ),
    Conversion("lrs_vqa", "heldout", "lrs-vqa", LRS_VQA_FILES["heldout"], {"images": "lrs_vqa/images"}),
    Conversion("ucmerced", "heldout", "classification", "scenes/heldout", {"dataset": "ucmerced"}),
]


def synthetic_image(key: str, width: int, height: int, tint: tuple[int, int, int] | None = None) -> Image.Image:
    """A smooth, seeded stand-in image: the same ``key`` and size always give the same pixels."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    coarse = rng.integers(0, 256, size=(6, 6, 3)).astype(np.float64)
    if tint is not None:
        coarse = 0.35 * coarse + 0.65 * np.asarray(tint, dtype=np.float64)
    return Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".tif", ".tiff"):
        image.save(path, compression="tiff_deflate")
    else:
        image.save(path, compress_level=1)


def scaled_lrs_vqa_row(row: dict[str, Any], scale: int) -> dict[str, Any]:
    """An LRS-VQA row for its image shrunk ``scale`` times: ``image_size``, ``hbox`` and ``rbox`` divided by it.

    ``abs_size`` and ``size_bin`` keep describing the object at its published size.
    """
    if any(side % scale for side in row["image_size"]):
        raise ValueError(f"{row['question_id']}: image_size {row['image_size']} is not divisible by {scale}")
    scaled = dict(row, image_size=[side // scale for side in row["image_size"]])
    for key in ("hbox", "rbox"):
        if key in row:
            scaled[key] = [value / scale for value in row[key]]
    return scaled


def prepare_lrs_vqa(folder: Path, scale: int = LRS_VQA_SCALE) -> None:
    """Scale the copied LRS-VQA rows in ``folder`` and generate their images under ``lrs_vqa/images`` by file name."""
    for name in LRS_VQA_FILES.values():
        path = folder / name
        rows = [scaled_lrs_vqa_row(json.loads(line), scale) for line in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        for row in rows:
            target = folder / "lrs_vqa/images" / Path(row["image"]).name
            if not target.exists():
                width, height = row["image_size"]
                _save(synthetic_image(f"lrs_vqa/{target.stem}", width, height), target)


def prepare_sources(folder: Path) -> Path:
    """Copy the bundled annotations to ``folder`` and generate the images they lack; returns ``folder``."""
    shutil.copytree(resources.files("rscovlm_train") / "demo_data", folder, dirs_exist_ok=True)
    _save(synthetic_image("hrsc2016/100000006", 1172, 816), folder / "hrsc2016/AllImages/100000006.png")
    captions = json.loads((folder / "captions/dataset_sydney_subset.json").read_text(encoding="utf-8"))
    for entry in captions["images"]:
        stem = Path(entry["filename"]).stem
        _save(synthetic_image(f"sydney/{stem}", 500, 500), folder / f"captions/images/{stem}.png")
    _save(synthetic_image("rsvqa/0", 256, 256), folder / "rsvqa/images/0.tif")
    prepare_lrs_vqa(folder)
    for split, count in SCENES_PER_CLASS.items():
        for label, tint in SCENE_CLASSES.items():
            for number in range(count):
                key = f"{label}{split}{number:02d}"
                _save(synthetic_image(key, 256, 256, tint), folder / f"scenes/{split}/{label}/{key}.png")
    return folder


def convert(sources: Path, records: Path) -> dict[str, dict[str, int]]:
    """Run every demo conversion; returns records and skipped counts per ``split/name``."""
    counts = {}
    for conversion in CONVERSIONS:
        options = {key: (sources / value if key == "images" else value) for key, value in conversion.options.items()}
        result = READERS[conversion.reader].read(sources / conversion.source, **options)
        target = records / conversion.split / f"{conversion.name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_records(target, result.records)
        counts[f"{conversion.split}/{conversion.name}"] = {
            "records": len(result.records),
            "skipped": len(result.skipped),
        }
    return counts


def build_zoom_records(sources: Path, records: Path, config: TrainConfig) -> Manifest:
    """LRS-VQA-Zoom training records from the demo's LRS-VQA training rows, for the run's resolution and convention.

    The overviews are stored at the size the training resolution policy gives them, so training shows them as is.
    """
    build = BuildConfig(split="train", policy=config.data.resolution, convention=config.data.render.convention)
    return build_zoom_dataset(
        sources / LRS_VQA_FILES["train"], sources / "lrs_vqa/images", records / "train" / ZOOM_RECORDS, build
    )


def demo_config_data(out: Path) -> dict[str, Any]:
    """The demo config with its paths (relative to the demo folder in the template) placed under ``out``."""
    data = yaml.safe_load((resources.files("rscovlm_train") / "demo_data" / DEMO_CONFIG).read_text(encoding="utf-8"))
    data["model"]["path"] = str(out / data["model"]["path"])
    data["data"]["root"] = str(out / data["data"]["root"])
    data["output"]["dir"] = str(out / data["output"]["dir"])
    data["evaluation"]["data_root"] = str(out / data["evaluation"]["data_root"])
    return data


def prepare_demo(out: Path) -> TrainConfig:
    """Sources, records and tiny model under ``out``; returns the demo's training config (also saved there)."""
    from rscovlm_model import build_tiny_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    sources = prepare_sources(out / "sources")
    counts = convert(sources, out / "records")
    for name, count in counts.items():
        print(f"  {name:<26} {count['records']:>4} records, {count['skipped']} skipped")
    config = parse_config(demo_config_data(out), "demo")
    zoom = build_zoom_records(sources, out / "records", config)
    print(
        f"  train/{ZOOM_RECORDS:<20} {zoom.records:>4} records ({zoom.zoom_records} zoom chains, "
        f"{zoom.plain_records} plain), {zoom.skipped_count} skipped"
    )
    model = Path(config.model.path)
    if not (model / "config.json").is_file():
        build_tiny_checkpoint(model, hidden_size=DEMO_MODEL_WIDTH, num_layers=DEMO_MODEL_DEPTH)
    (out / DEMO_CONFIG).write_text(config.to_yaml(), encoding="utf-8")
    return config


def run_demo(out: Path) -> Path:
    """Prepare, train, evaluate; returns the folder holding the evaluation report."""
    from rscovlm_train.run import train

    print(f"preparing the demo data set and tiny model in {out}")
    config = prepare_demo(out)
    print(f"training for {config.optim.max_steps} steps, then evaluating trained and held-out samples of every task")
    result = train(config)
    assert result.report is not None  # the demo config has an evaluation section
    return result.report
