"""EuroSAT and RSITMD read through the registry as their files ship (EuroSAT_RGB class folders, RSITMD's
Karpathy-format dataset_RSITMD.json)."""

from pathlib import Path

import numpy as np
from PIL import Image
from rscovlm_eval.config import load_config
from rscovlm_eval.data import load_benchmark_records
from rscovlm_eval.registry import BENCHMARKS

DATA = Path(__file__).parent / "data"


def _image(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), 100, np.uint8)).save(path)


def test_eurosat_and_rsitmd(tmp_path):
    for name in ("AnnualCrop/AnnualCrop_1.jpg", "Forest/Forest_7.jpg", "SeaLake/SeaLake_3.jpg"):
        _image(tmp_path / "EuroSAT_RGB" / name, 64)  # EuroSAT's 64 x 64 Sentinel-2 RGB patches
    for name in ("airport_1.tif", "beach_2.tif"):
        _image(tmp_path / "rsitmd_images" / name, 256)
    config = load_config(
        {
            "model": "m",
            "data_root": str(tmp_path),
            "benchmarks": [
                {"name": "eurosat", "data": "EuroSAT_RGB"},
                {
                    "name": "rsitmd",
                    "data": str(DATA / "rsitmd" / "dataset_RSITMD_small.json"),
                    "images": "rsitmd_images",
                },
            ],
        }
    )
    eurosat, _ = load_benchmark_records(config.benchmarks[0], config)
    assert [r.annotation.label for r in eurosat] == ["AnnualCrop", "Forest", "SeaLake"]
    assert eurosat[0].annotation.classes == ["AnnualCrop", "Forest", "SeaLake"]
    rsitmd, _ = load_benchmark_records(config.benchmarks[1], config)
    assert [r.id for r in rsitmd] == ["airport_1"]  # the test split only
    assert rsitmd[0].annotation.captions == [
        "many planes are parked next to a long building .",
        "an airport with a terminal .",
    ]
    assert BENCHMARKS["rsitmd"].metric == "captioning" and BENCHMARKS["eurosat"].metric == "classification"


def test_a_record_showing_a_window_of_its_image_is_left_out_with_the_reason(tmp_path):
    from rs_data import ImageRef, Record, VQAAnnotation, write_records

    def question(name: str, window: tuple[int, int, int, int] | None) -> Record:
        image = ImageRef(path=str(tmp_path / "scene.png"), width=40, height=30, window=window)
        annotation = VQAAnnotation(question="What is it?", answer="a ship")
        return Record(id=name, dataset="lrs_vqa", task="uhr_vqa", images=[image], annotation=annotation)

    write_records(tmp_path / "questions.jsonl", [question("whole", None), question("window", (10, 10, 50, 40))])
    bench = {"name": "lrs-vqa", "data": "questions.jsonl", "format": "records"}
    config = load_config({"model": "m", "data_root": str(tmp_path), "benchmarks": [bench]})
    records, skipped = load_benchmark_records(config.benchmarks[0], config)
    assert [r.id for r in records] == ["whole"]
    assert [s.reason for s in skipped] == ["window: benchmarks show whole images, not a window"]
