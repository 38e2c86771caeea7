"""GeoGround test sets: the metainfo reader (HBB and OBB targets), polygon-IoU grounding and fixed resolutions."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data.readers import READERS
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.oriented_grounding import evaluate_oriented_grounding
from rscovlm_eval.model_settings import model_spec

DATA = Path(__file__).parent / "data" / "geoground"
SQUARE = np.array([0, 0, 10, 0, 10, 10, 0, 10], float)


def test_oriented_iou_hand_computed():
    diamond = np.array([5, 0, 10, 5, 5, 10, 0, 5], float)  # inside the square, area 50: IoU 50 / 100 = 0.5
    shifted = SQUARE + np.array([5, 0] * 4)  # overlap 5 x 10 = 50, union 150: IoU 1/3
    result = evaluate_oriented_grounding([SQUARE, diamond, shifted, None], [SQUARE] * 4)
    assert result.accuracy == 0.25  # only the exact box: 0.5 is not > 0.5
    assert result.mean_iou == pytest.approx((1 + 0.5 + 1 / 3 + 0) / 4)
    assert result.no_box == 1 and result.by_size["small"].count == 4  # area 100 < 32²


@pytest.fixture(scope="module")
def geoground_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("geoground")
    (root / "images" / "rsvg").mkdir(parents=True)
    Image.fromarray(np.full((800, 800, 3), 90, np.uint8)).save(
        root / "images" / "rsvg" / "03011.png"
    )  # .jpg in the file
    return root


def test_reader_hbb_and_obb(geoground_root):
    source = DATA / "metainfo" / "rsvg_test.jsonl"
    hbb = READERS["geoground-test"].read(source, images=geoground_root / "images" / "rsvg")
    obb = READERS["geoground-test"].read(source, images=geoground_root / "images" / "rsvg", box="obb")
    assert [r.id for r in hbb.records] == ["03011_11", "03011_12"]
    assert hbb.records[1].annotation.polygon == [400, 380, 560, 380, 560, 540, 400, 540]  # the bbox's corners
    assert obb.records[1].annotation.polygon == [480, 380, 560, 460, 480, 540, 400, 460]  # the annotated poly
    assert hbb.records[0].annotation.expression == "the storage tank on the left"
    assert len(hbb.skipped) == 1 and hbb.skipped[0].line == 3 and "bbox" in hbb.skipped[0].reason


def _run(root, folder, out, make_config, oracle_class, bench, **extra):
    bench = {"data": str(DATA / "metainfo" / "rsvg_test.jsonl"), "images": "images/rsvg", **bench}
    config = make_config(folder, root, out, benchmarks=[bench], plots=False, **extra)
    run_dir = run_evaluation(config, generate=oracle_class(config))  # the oracle answers with the rendered target
    return config, run_dir, json.loads((run_dir / "results.json").read_text())["benchmarks"]


def test_fixed_resolution(geoground_root, qwen25_folder, make_config, oracle_class, tmp_path):
    bench = {"name": "geoground-rsvg", "fixed_resolution": 336}
    config, run_dir, results = _run(geoground_root, qwen25_folder, tmp_path, make_config, oracle_class, bench)
    budget = model_spec(config).policy.datasets["geoground-rsvg@336"]
    assert (budget.min_pixels, budget.max_pixels) == (336**2, 336**2)
    assert results["geoground-rsvg@336"]["acc@0.5"] == 1.0 and results["geoground-rsvg@336"]["count"] == 2
    entry = json.loads((run_dir / "geoground-rsvg@336" / "predictions.rank0-of-1.jsonl").open().readline())
    assert (entry["frame"]["resized_width"], entry["frame"]["resized_height"]) == (336, 336)  # 800² -> 336² pixels


def test_obb_set_is_scored_by_polygon_iou(geoground_root, qwen25_folder, make_config, oracle_class, tmp_path):
    bench = {"name": "geoground-rsvg-obb"}
    prompt = {"grounding_box_type": "poly"}
    _, run_dir, results = _run(geoground_root, qwen25_folder, tmp_path, make_config, oracle_class, bench, prompt=prompt)
    assert results["geoground-rsvg-obb"]["acc@0.5"] == 1.0 and results["geoground-rsvg-obb"]["iou"] == "polygon"
    assert "Oriented visual grounding" in (run_dir / "results.md").read_text()
    # asked for horizontal boxes, the tilted ship's answer is its bounding box: IoU 0.5 with the diamond (up to the
    # rounding of 800 -> 448 pixel coordinates), the tank's is exact: mean IoU about (1 + 0.5) / 2
    _, _, hbb = _run(geoground_root, qwen25_folder, tmp_path / "hbb", make_config, oracle_class, bench)
    assert hbb["geoground-rsvg-obb"]["mean_iou"] == pytest.approx(0.75, abs=0.01)


def test_fixed_resolution_needs_a_reader():
    from rscovlm_eval.config import ConfigError, load_config

    bench = {"name": "geoground-rsvg", "format": "records", "data": "x.jsonl", "fixed_resolution": 336}
    with pytest.raises(ConfigError, match=r"with `format: records` set resolution\.datasets instead"):
        load_config({"model": "m", "benchmarks": [bench]})
