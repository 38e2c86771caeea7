"""Online loading throughput: render + decode + resize of a mixture vs bare decode + resize of the same images.

Builds a small mixture in a temporary directory (the real DOTA sample cut into 256-pixel patches at rates 1 and 0.5,
as for training, plus generated JPEG images for captioning, VQA and classification records), draws one epoch
with the mixture sampler, and times `MixtureDataset[i]` with image loading (records file read, rendering, decode,
resize) against `load_image` + `resize_image` to the same sizes. Prints both rates, the overhead (target <= 15 %) and,
to show where it goes, the time of rendering alone and of its box-text part (rs-detect-eval's `format_objects`).

    uv run --no-sync python benchmarks/rs_data_render.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rs_data import (
    CaptionAnnotation,
    ClassificationAnnotation,
    ImageRef,
    Record,
    VQAAnnotation,
    write_records,
)
from rs_data.dataset import MixtureDataset
from rs_data.mixing import Mixture
from rs_data.readers import READERS
from rs_data.split import SplitConfig, split_record
from rs_detect_eval import format_objects
from rs_resolution import ResolutionPolicy, load_image, resize_image

SAMPLES = Path(__file__).resolve().parents[1] / "packages" / "rs-data" / "tests" / "data"


def _image(path: Path, size: tuple[int, int], seed: int) -> ImageRef:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    Image.fromarray(noise).resize(size, Image.BICUBIC).save(path, quality=90)
    return ImageRef(path=str(path), width=size[0], height=size[1])


def build_mixture(root: Path) -> Mixture:
    (image,) = READERS["dota"](SAMPLES / "dota").records
    (root / "patches").mkdir()
    patches = split_record(SplitConfig(size=256, gap=56, rates=[1.0, 0.5]), root / "patches", image).records
    write_records(root / "dota.jsonl", patches)
    other: dict[str, list[Record]] = {"captions": [], "vqa": [], "cls": []}
    for i in range(12):
        image = _image(root / f"img{i}.jpg", (600 + 40 * i, 500 + 20 * i), i)
        other["captions"].append(
            Record(
                id=f"c{i}",
                dataset="captions",
                task="captioning",
                images=[image],
                annotation=CaptionAnnotation(captions=["a harbor", "ships at a dock"]),
            )
        )
        other["vqa"].append(
            Record(
                id=f"q{i}",
                dataset="vqa",
                task="vqa",
                images=[image],
                annotation=VQAAnnotation(question="Is there a ship?", answer="yes"),
            )
        )
        other["cls"].append(
            Record(
                id=f"k{i}",
                dataset="cls",
                task="classification",
                images=[image],
                annotation=ClassificationAnnotation(label="harbor", classes=["harbor", "beach"]),
            )
        )
    for name, records in other.items():
        write_records(root / f"{name}.jsonl", records)
    paths = {name: str(root / f"{name}.jsonl") for name in ("dota", "captions", "vqa", "cls")}
    return Mixture.from_spec("dota,captions,vqa,cls", paths, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rs_data_bench_"))
    try:
        mixture = build_mixture(root)
        policy = ResolutionPolicy(max_pixels=1024 * 28 * 28)
        dataset = MixtureDataset.from_mixture(mixture, policy, load_images=True)
        indices = list(dataset.sampler())
        targets = [(dataset.record(i).images[0].path, dataset[i].frames[0]) for i in indices]

        def ours() -> None:
            for i in indices:
                dataset[i]

        text_only = MixtureDataset.from_mixture(mixture, policy, load_images=False)

        def render_only() -> None:
            for i in indices:
                text_only[i]

        records = [text_only.record(i) for i in indices]
        box_jobs = [
            (
                [(o.label, np.asarray(o.polygon)) for o in r.annotation.objects],
                text_only[i].box_type,
                text_only[i].frames[0],
            )
            for i, r in zip(indices, records, strict=True)
            if r.task == "detection"
        ]

        def box_text_only() -> None:
            for objects, box_type, frame in box_jobs:
                format_objects(objects, box_type, "plain", frame, "absolute")

        def baseline() -> None:
            for path, frame in targets:
                resize_image(load_image(path), frame.resized_height, frame.resized_width)

        functions = {
            "decode+resize": baseline,
            "render+decode+resize": ours,
            "render only": render_only,
            "  of which box text": box_text_only,
        }
        timings: dict[str, list[float]] = {name: [] for name in functions}
        for _ in range(args.repeats):
            for name, function in functions.items():
                start = time.perf_counter()
                function()
                timings[name].append(time.perf_counter() - start)
        best = {name: min(values) for name, values in timings.items()}
        n, base = len(indices), best["decode+resize"]
        for name, seconds in best.items():
            print(f"{name:22s} {seconds:8.3f} s for {n} samples  ({n / seconds:7.1f} samples/s, {seconds / base:6.1%})")
        ratio = best["render+decode+resize"] / base
        print(f"ratio {ratio:.3f}  overhead {100 * (ratio - 1):+.1f} %  (target <= +15 %)")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
