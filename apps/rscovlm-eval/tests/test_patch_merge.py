"""Detection on DOTA_devkit patches: answers are merged back to full images and scored on the full-image labels."""

import json

import numpy as np
import pytest
from rs_data import read_records, write_records
from rs_data.split import SplitConfig, split_record
from rs_detect_eval import ImageDet, evaluate_map, read_dota_label
from rscovlm_eval import run_evaluation
from rscovlm_eval.config import ConfigError
from rscovlm_eval.scoring import merged_to_full_images

SHIP = [10.0, 10.0, 50.0, 10.0, 50.0, 30.0, 10.0, 30.0]
PLANE = [600.0, 100.0, 700.0, 100.0, 700.0, 150.0, 600.0, 150.0]


def _target(*objects):
    return {"objects": [{"label": label, "polygon": poly} for label, poly in objects], "classes": ["plane", "ship"]}


def test_patch_answers_are_shifted_merged_and_paired_with_full_labels():
    dets = [
        ImageDet("P0001__1__0___0", np.array([SHIP]), ["ship"]),
        ImageDet("P0001__1__512___0", np.array([np.array(PLANE) - np.tile([512, 0], 4)]), ["plane"]),
        ImageDet("P0001__0.5__0___0", np.array([np.array(SHIP) * 0.5]), ["ship"]),  # the same ship at scale 0.5
        ImageDet("P0002__1__0___0", np.zeros((0, 8)), []),  # "There are none." on an image with a ship
    ]
    targets = {"P0001": _target(("ship", SHIP), ("plane", PLANE)), "P0002": _target(("ship", SHIP))}
    full_dets, gts = merged_to_full_images(dets, targets)
    assert [d.image_id for d in full_dets] == [g.image_id for g in gts] == ["P0001", "P0002"]
    first = full_dets[0]
    assert sorted(first.labels) == ["plane", "ship"]  # the duplicate ship is suppressed
    np.testing.assert_allclose(first.polygons[first.labels.index("plane")], PLANE)
    result = evaluate_map(full_dets, gts, ["plane", "ship"], iou_thr=0.5, convention="devkit", ap_mode="voc07")
    assert result.per_class["plane"].ap == pytest.approx(1.0)
    assert result.per_class["ship"].num_gt == 2 and result.per_class["ship"].recall[-1] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def patches(bench_root, tmp_path_factory):
    """P1888 (712 x 557) cut into 512 x 512 patches with gap 200, as `rs-data convert --split-size 512` does."""
    from rs_data.readers import READERS

    (full,) = READERS["dota"](bench_root / "dota").records
    out = tmp_path_factory.mktemp("patches")
    result = split_record(SplitConfig(size=512, gap=200), out, full)
    write_records(out / "patches.jsonl", result.records)
    return out / "patches.jsonl"


def _patch_config(make_config, model, root, out, **bench):
    return make_config(model, root, out, benchmarks=[{"name": "dota1.0", "format": "records", **bench}], plots=False)


def test_patch_answers_are_scored_on_full_images(
    bench_root, qwen25_folder, tmp_path, patches, make_config, oracle_class
):
    config = _patch_config(make_config, qwen25_folder, bench_root, tmp_path, data=str(patches), full_images="dota")
    results = json.loads((run_evaluation(config, generate=oracle_class(config)) / "results.json").read_text())
    merged = results["benchmarks"]["dota1.0"]
    assert merged["count"] == len(list(read_records(patches))) == 4 and merged["images"] == 1
    truth = read_dota_label(bench_root / "dota" / "labelTxt" / "P1888.txt")
    for label in set(truth.labels):
        expected = sum(1 for lab, diff in zip(truth.labels, truth.difficult, strict=True) if lab == label and not diff)
        assert merged["per_class"][label]["num_gt"] == expected, label  # the full image's objects, once each
        assert merged["per_class"][label]["num_det"] == expected, label
        assert merged["per_class"][label]["ap"] == pytest.approx(1.0), label  # duplicates across patches removed
    per_patch = _patch_config(
        make_config, qwen25_folder, bench_root, tmp_path / "patches", data=str(patches), merge_patches=False
    )
    unmerged = json.loads((run_evaluation(per_patch, generate=oracle_class(per_patch)) / "results.json").read_text())
    assert unmerged["benchmarks"]["dota1.0"]["images"] == 4


def test_patches_without_full_images_are_refused(bench_root, qwen25_folder, tmp_path, patches, make_config):
    config = _patch_config(make_config, qwen25_folder, bench_root, tmp_path, data=str(patches))
    with pytest.raises(ConfigError, match="set `full_images`"):
        run_evaluation(config, generate=lambda conversations: ["" for _ in conversations])
    whole = _patch_config(
        make_config, qwen25_folder, bench_root, tmp_path, data="dota", format=None, full_images="dota"
    )
    with pytest.raises(ConfigError, match="needs DOTA_devkit patch ids, not 'P1888'"):
        run_evaluation(whole, generate=lambda conversations: ["" for _ in conversations])


def test_patch_options_are_for_detection_only(bench_root, qwen25_folder, tmp_path, make_config):
    with pytest.raises(ConfigError, match="patch merging is for detection benchmarks, not 'aid'"):
        make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[{"name": "aid", "merge_patches": True}])
