"""evaluate_map against the two references on real DOTA labels with seeded synthetic detections."""

from __future__ import annotations

import json
import multiprocessing.dummy
import types

import numpy as np
import pytest
from click.testing import CliRunner
from detect_eval_synthetic import synthetic_detections
from rs_detect_eval import CLASS_SETS, ImageDet, ImageGT, evaluate_map, write_task1
from rs_detect_eval.cli import main
from rs_resolution import obb_to_poly, poly_to_obb

CLASSES = CLASS_SETS["dota1.0"]


def _with_difficult(gts: list[ImageGT], seed: int) -> list[ImageGT]:
    rng = np.random.default_rng(seed)
    return [ImageGT(g.image_id, g.polygons, g.labels, rng.random(len(g.labels)) < 0.15) for g in gts]


def _empty_image() -> ImageGT:
    return ImageGT("P9999", np.array([[10, 10, 40, 10, 40, 30, 10, 30]]), ["ship"], np.array([False]))


@pytest.fixture(scope="module", params=[0, 1, 2])
def case(request, dota_gts) -> tuple[list[ImageGT], list[ImageDet]]:
    """Real labels (some marked difficult) plus one image without detections; ~2 jittered copies per object."""
    gts = [*_with_difficult(dota_gts, request.param), _empty_image()]
    return gts, synthetic_detections(gts[:-1], CLASSES, seed=request.param)


@pytest.mark.parametrize("ap_mode", ["voc07", "area"])
def test_devkit_and_valid_coincide_on_convex_boxes(case, ap_mode: str) -> None:
    """Real labels and jittered rotated rectangles: no bow-tie, no degenerate box, so the two rules give one AP."""
    gts, dets = case
    devkit = evaluate_map(dets, gts, CLASSES, convention="devkit", ap_mode=ap_mode)
    valid = evaluate_map(dets, gts, CLASSES, convention="valid", ap_mode=ap_mode)
    assert devkit.defects["detections"] == {"bow_tie": 0, "degenerate": 0, "non_finite": 0}
    for name in CLASSES:
        assert devkit.per_class[name].ap == valid.per_class[name].ap, name
    assert devkit.map == valid.map and 0 < devkit.map < 1
    assert devkit.iou_rule == "devkit" and valid.to_dict()["iou_rule"] == "valid"


@pytest.fixture(scope="module")
def eval_rbbox_map(request):
    """mmrotate's eval_rbbox_map with its process pool swapped for threads (same code path, no process spawn)."""
    eval_map = pytest.importorskip("mmrotate.core.evaluation.eval_map", reason="the mmrotate extra is not installed")
    patch = pytest.MonkeyPatch()
    patch.setattr(eval_map, "get_context", lambda method: types.SimpleNamespace(Pool=multiprocessing.dummy.Pool))
    request.addfinalizer(patch.undo)
    return eval_map.eval_rbbox_map


def _as_float32_rectangles(items):
    """Rectangles exactly representable as the float32 OBBs mmrotate receives (so both sides see one geometry)."""
    out = []
    for item in items:
        obb = poly_to_obb(item.polygons).astype(np.float32).astype(np.float64) if len(item.polygons) else None
        polygons = obb_to_poly(obb) if obb is not None else item.polygons
        if isinstance(item, ImageDet):
            out.append(ImageDet(item.image_id, polygons, item.labels, item.scores.astype(np.float32)))
        else:
            out.append(ImageGT(item.image_id, polygons, item.labels, item.difficult))
    return out


@pytest.mark.mmrotate
@pytest.mark.parametrize("ap_mode", ["voc07", "area"])
@pytest.mark.parametrize("difficult_as_ignore", [False, True])
def test_mmrotate_convention_matches_eval_rbbox_map(case, eval_rbbox_map, ap_mode: str, difficult_as_ignore) -> None:
    from rs_detect_eval.mmrotate_backend import to_mmrotate_inputs

    gts, dets = (_as_float32_rectangles(items) for items in case)
    result = evaluate_map(
        dets, gts, CLASSES, convention="mmrotate", ap_mode=ap_mode, difficult_as_ignore=difficult_as_ignore
    )
    det_results, annotations = to_mmrotate_inputs(dets, gts, CLASSES, difficult_as_ignore)
    mean_ap, reference = eval_rbbox_map(
        det_results, annotations, iou_thr=0.5, use_07_metric=ap_mode == "voc07", nproc=1, logger="silent"
    )
    for name, ref in zip(CLASSES, reference, strict=True):
        assert result.per_class[name].ap == pytest.approx(float(ref["ap"]), abs=1e-9), name
        assert result.per_class[name].num_gt == ref["num_gts"]
        assert result.per_class[name].num_det == ref["num_dets"]
    assert result.map == pytest.approx(mean_ap, abs=1e-9)
    assert eval_rbbox_map.__module__ == "mmrotate.core.evaluation.eval_map"  # the installed mmrotate, not a stand-in
    assert any(ref["num_gts"] == 0 and ref["num_dets"] > 0 for ref in reference)  # a class without ground truth
    assert any(not any(len(part) for part in image) for image in det_results)  # an image without detections
    assert any(len(a["bboxes_ignore"]) for a in annotations) == difficult_as_ignore


@pytest.mark.mmrotate
def test_mmrotate_backend_through_the_cli(tmp_path, case, eval_rbbox_map) -> None:
    gts, dets = (_as_float32_rectangles(items) for items in case)
    labels = tmp_path / "labels"
    labels.mkdir()
    for gt in gts:
        rows = [
            " ".join([*map(repr, p.tolist()), label, str(int(d))])
            for p, label, d in zip(gt.polygons, gt.labels, gt.difficult, strict=True)
        ]
        (labels / f"{gt.image_id}.txt").write_text("\n".join(rows) + "\n")
    write_task1(dets, tmp_path / "task1", CLASSES)
    outputs = {}
    for backend in ("native", "mmrotate"):
        out = tmp_path / f"{backend}.json"
        args = [
            "map",
            "--gt",
            str(labels),
            "--det",
            str(tmp_path / "task1"),
            "--convention",
            "mmrotate",
            "--backend",
            backend,
            "--out",
            str(out),
        ]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs[backend] = json.loads(out.read_text())
    assert outputs["native"]["map"] == pytest.approx(outputs["mmrotate"]["map"], abs=1e-9)
    for name in CLASSES:
        assert outputs["native"]["per_class"][name] == pytest.approx(outputs["mmrotate"]["per_class"][name], abs=1e-9)
