import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from detect_eval_synthetic import synthetic_detections
from rs_detect_eval import CLASS_SETS, evaluate_map, format_objects, merge_patches, write_task1
from rs_detect_eval.cli import main
from rs_resolution import ImageFrame

CLASSES = CLASS_SETS["dota1.0"]
LABELS = str(Path(__file__).parent / "data" / "dota_labels")


@pytest.fixture(scope="module")
def task1_dir(tmp_path_factory, dota_gts) -> Path:
    directory = tmp_path_factory.mktemp("task1")
    write_task1(synthetic_detections(dota_gts, CLASSES, seed=6), directory, CLASSES)
    return directory


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_map_writes_result_json_table_and_curves(tmp_path, task1_dir, dota_gts) -> None:
    out = tmp_path / "RESULT.json"
    output = _run(
        "map",
        "--gt",
        LABELS,
        "--det",
        str(task1_dir),
        "--convention",
        "mmrotate",
        "--ap",
        "area",
        "--out",
        str(out),
        "--pr-curves",
        str(tmp_path / "curves"),
    )
    result = json.loads(out.read_text())
    assert set(result) >= {"map", "per_class"} and set(result["per_class"]["plane"]) >= {"ap", "num_gt", "num_det"}
    assert "| **mAP** |" in output and "| small-vehicle |" in output
    assert any((tmp_path / "curves").glob("pr_*.png"))
    from rs_detect_eval import read_task1_dir

    expected = evaluate_map(
        read_task1_dir(task1_dir, CLASSES), dota_gts, CLASSES, convention="mmrotate", ap_mode="area"
    )
    assert result["map"] == expected.map


def test_answers_jsonl_through_parse_mapnc_and_f1(tmp_path, dota_gts) -> None:
    frame = ImageFrame(width=1100, height=1000, resized_width=1092, resized_height=980)
    rows = []
    for gt in dota_gts:
        answer = format_objects(list(zip(gt.labels, gt.polygons, strict=True)), "poly", "json", frame, "relative1000")
        rows.append({"image_id": gt.image_id, "answer": answer, **frame.model_dump()})
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    parse_out = _run("parse", str(answers), "--coords", "relative1000", "--out", str(tmp_path / "parsed"))
    report = json.loads(parse_out)
    assert report["answers"] == 2 and report["objects"] == sum(len(g.labels) for g in dota_gts)
    assert report["dropped"] == {} and len(report["bad_lines"]) == 1
    assert "answers.jsonl:3" in report["bad_lines"][0]
    out = tmp_path / "nc.json"
    text = _run(
        "mapnc",
        "--gt",
        LABELS,
        "--det",
        str(answers),
        "--coords",
        "relative1000",
        "--tie-seeds",
        "2",
        "--out",
        str(out),
    )
    assert json.loads(out.read_text())["map"] > 0.1 and "mAP_nc" in text
    f1 = _run("f1", "--gt", LABELS, "--det", str(tmp_path / "parsed"), "--score-thr", "0")
    assert "mF1" in f1


def test_merge_and_export(tmp_path, dota_gts) -> None:
    dets = synthetic_detections(dota_gts, CLASSES, seed=7)
    for det in dets:
        det.image_id = f"{det.image_id}__1__0___0"
    write_task1(dets, tmp_path / "patches", CLASSES)
    _run("merge", "--det", str(tmp_path / "patches"), "--out", str(tmp_path / "merged"))
    expected = sum(len(d.labels) for d in merge_patches(dets))
    merged_lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "merged").glob("Task1_*.txt"))
    assert merged_lines == expected
    _run("export", "--det", str(tmp_path / "merged"), "--out", str(tmp_path / "sub"), "--zip", str(tmp_path / "s.zip"))
    assert (tmp_path / "s.zip").stat().st_size > 0


def test_bad_usage_is_reported() -> None:
    result = CliRunner().invoke(main, ["map", "--gt", LABELS, "--det", LABELS, "--classes", "nope"])
    assert result.exit_code != 0
    result = CliRunner().invoke(main, ["mapnc", "--gt", LABELS, "--det", LABELS, "--val-gt", LABELS])
    assert result.exit_code != 0 and "go together" in result.output
