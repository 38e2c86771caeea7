"""The LRS-VQA-Zoom builder on the 300 real LRS-VQA rows, with generated images.

The real images are 1.5k-24k pixels a side (11 Gpx in all), so the fixture scales every row's `image_size` and boxes
down by SCALE and draws coordinate-encoding images of the scaled sizes; questions, answers and categories stay real.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image
from rs_data import read_records
from rs_data.readers import READERS
from rs_data.render import RenderConfig, render
from rs_resolution import ResolutionPolicy, from_model
from rs_zoom import (
    CROP_BOXES,
    ZOOM_INSTRUCTION,
    ZOOMED_PROMPT,
    BuildConfig,
    CropBoxError,
    CropPolicy,
    as_zoom_chain,
    build_zoom_dataset,
    parse_tool_call,
    visual_cot_chain,
    write_pyramid,
)
from rs_zoom.cli import main

DATA = Path(__file__).parent / "data" / "LRS_VQA_sample300.jsonl"
SCALE = 32
POLICY = ResolutionPolicy(factor=28, min_pixels=4 * 28 * 28, max_pixels=64 * 28 * 28)


def _scaled_rows() -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    for row in rows:
        row["image_size"] = [math.ceil(v / SCALE) for v in row["image_size"]]
        for key in ("hbox", "rbox"):
            if key in row:
                row[key] = [v / SCALE for v in row[key]]
    return rows


def _write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def lrs_vqa(tmp_path_factory, helpers):
    """(rows file, images folder) for the 300 real rows at 1/SCALE size; .tif rows get TIFF files."""
    root = tmp_path_factory.mktemp("lrs_vqa")
    rows = _scaled_rows()
    for row in rows:
        _draw_image(root / "images" / row["image"], row["image_size"], helpers)
    return _write_rows(root / "rows.jsonl", rows), root / "images"


def _draw_image(path: Path, size: list[int], helpers) -> None:
    """A coordinate image of `size` at `path` (TIFF for .tif names, PNG otherwise), unless it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    image = helpers.coordinate_image(*size)
    if path.suffix == ".tif":
        tifffile.imwrite(path, np.asarray(image))
    else:
        image.save(path, compress_level=1)


@pytest.fixture(scope="module")
def built(lrs_vqa, tmp_path_factory):
    src, images = lrs_vqa
    out = tmp_path_factory.mktemp("built")
    config = BuildConfig(variants=["open", "mc"], policy=POLICY, crop=CropPolicy(margin=0.25, min_size=16))
    manifest = build_zoom_dataset(src, images, out, config)
    return out, manifest, {r.id: r for r in read_records(out / "records.jsonl")}


def test_all_real_rows_become_records(built):
    _, manifest, records = built
    assert manifest.rows == 300
    open_records = [r for r in records.values() if r.meta["variant"] == "open"]
    assert len(open_records) == 300
    # 252 rows name one evidence box (hbox); the 48 counting rows have none and become plain VQA.
    assert sum(len(r.images) == 2 for r in open_records) == 252
    assert manifest.records_by_variant["open"] == 300
    assert manifest.size_order == {"width_height": 300}
    # Two real boxes overhang their 4000-pixel image (FAIR_2 ends at y = 4050, FAIR_1181 starts at y = -16):
    # clipped and counted, not dropped.
    assert manifest.evidence_clipped == 2
    assert records["FAIR_2"].meta["evidence_clipped"] and records["FAIR_1181"].meta["evidence_clipped"]
    assert manifest.zoom_records + manifest.plain_records == manifest.records == len(records)


def test_multiple_choice_variant(built):
    _, manifest, records = built
    mc = [r for r in records.values() if r.meta["variant"] == "mc"]
    assert manifest.records_by_variant["mc"] == len(mc) > 250
    for record in mc:
        choices, answer = record.meta["choices"], record.messages[-1].content[0].text
        assert 3 <= len(choices) <= 4 and len(set(choices)) == len(choices)
        assert choices["ABCD".index(answer)] == record.meta["ground_truth"]
        assert "Answer the question using a single word or phrase" not in _texts(record)
    # Categories with fewer than two other answers cannot make multiple choice: skipped with a reason.
    assert manifest.skipped_count == 300 - len(mc) == manifest.skipped_by_reason.get("no multiple-choice form", 0)
    assert all(s["line"] and "distractors" in s["reason"] for s in manifest.skipped)


def _texts(record) -> str:
    return "\n".join(p.text for m in record.messages for p in m.content if p.type == "text")


def test_zoom_record_follows_the_protocol(built):
    _, _, records = built
    record = records["GLH-Bridge_381"]
    assert [m.role for m in record.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert record.task == "uhr_vqa" and record.dataset == "lrs_vqa_zoom"
    user, call, zoomed, answer = record.messages[1:]
    assert user.content[0].image == 0 and user.content[1].text.endswith(ZOOM_INSTRUCTION)
    assert zoomed.content[0].image == 1 and zoomed.content[1].text == ZOOMED_PROMPT
    assert answer.content[0].text == "blue"
    assert call.content[0].text.startswith('<tool_call>\n{"name": "image_zoom_in", "arguments": {"bbox": [<poly>')


@pytest.mark.parametrize("question_id", ["GLH-Bridge_381", "FAIR_1236", "STAR_1999", "FAIR_2"])
def test_tool_box_and_crop_match_the_evidence(built, helpers, question_id):
    _, _, records = built
    record = records[question_id]
    overview_ref, crop_ref = record.images
    width, height = record.meta["original_size"]
    frame = POLICY.frame(width, height, task="uhr_vqa")
    assert (overview_ref.width, overview_ref.height) == (frame.resized_width, frame.resized_height)
    assert Image.open(overview_ref.path).size == (frame.resized_width, frame.resized_height)

    # Rendered as training sees it, the tool-call box maps back onto the evidence (to half a grid step).
    to_original = np.array([width / overview_ref.width, height / overview_ref.height])
    for convention in ("absolute", "relative1000"):
        sample = render(record, POLICY, RenderConfig(convention=convention), np.random.default_rng(0))
        shown = sample.frames[0]
        assert shown.resized_size == (frame.resized_width, frame.resized_height)  # the overview is shown as is
        call = parse_tool_call(sample.messages[2]["content"][0]["text"])
        assert call.status == "ok"
        back = from_model(np.reshape(call.bbox, (2, 2)), shown, convention) * to_original
        step = max(width, height) / (1000 if convention == "relative1000" else min(shown.resized_size))
        np.testing.assert_allclose(back.reshape(4), record.meta["evidence_hbox"], atol=0.51 * step)

    x0, y0, x1, y1 = record.meta["crop_window"]
    crop = Image.open(crop_ref.path)
    assert crop.size == (x1 - x0, y1 - y0) == (crop_ref.width, crop_ref.height)
    assert helpers.pixel_xy(crop, 0, 0) == (x0, y0)  # cut from the original image, not the overview
    assert helpers.pixel_xy(crop, crop.width - 1, crop.height - 1) == (x1 - 1, y1 - 1)
    ex0, ey0, ex1, ey1 = record.meta["evidence_hbox"]
    assert x0 <= ex0 and ex1 <= x1 and y0 <= ey0 and ey1 <= y1


def test_counting_rows_are_plain_vqa(built):
    _, _, records = built
    record = records["GLH-Bridge_963"]
    assert [m.role for m in record.messages] == ["user", "assistant"]
    assert len(record.images) == 1 and record.messages[1].content[0].text == "2"
    assert "evidence_hbox" not in record.meta


def test_bad_rows_missing_images_and_size_orders_are_counted(tmp_path, helpers):
    rows = _scaled_rows()[:3]
    images = tmp_path / "images"
    images.mkdir()
    first, swapped, missing = rows
    for row in (first, swapped):  # the rows below name their evidence by `hbox` alone (the reader prefers `rbox`)
        row.pop("rbox")
    helpers.coordinate_image(*first["image_size"]).save(images / Path(first["image"]).name)
    swapped.update(image="swapped.png", image_size=[40, 30], hbox=[1, 1, 5, 5])
    helpers.coordinate_image(30, 40).save(images / "swapped.png")  # 30 wide, 40 high: image_size was [H, W]
    tiled = dict(first, question_id="tiled", image="tiled.tif", image_size=[300, 200], hbox=[100, 50, 140, 90])
    write_pyramid(helpers.coordinate_image(300, 200), images / "tiled.tif", tile_size=64)
    outside = dict(first, question_id="outside", hbox=[10_000, 10_000, 10_001, 10_001])
    src = _write_rows(tmp_path / "rows.jsonl", [first, swapped, missing, outside, first, tiled])
    with src.open("a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"question_id": "x", "image": "a.png"}) + "\n")

    manifest = build_zoom_dataset(src, images, tmp_path / "out", BuildConfig(policy=POLICY))
    assert manifest.rows == 8 and manifest.records == 3
    # the reader skips the row whose evidence lies outside its image before its size is compared
    assert manifest.size_order == {"width_height": 2, "height_width": 1}
    assert manifest.skipped_by_reason == {
        "invalid row": 2,
        "image not found": 1,
        "evidence box outside the image": 1,
        "duplicate question_id": 1,
    }
    assert sorted(s["line"] for s in manifest.skipped) == [3, 4, 5, 7, 8]
    assert any("rows.jsonl" in s["file"] and "image" in s["reason"] for s in manifest.skipped)
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert saved["skipped_count"] == 5 and saved["config"]["policy"]["max_pixels"] == 64 * 28 * 28
    record = next(r for r in read_records(tmp_path / "out" / "records.jsonl") if r.id == "tiled")
    x0, y0, _, _ = record.meta["crop_window"]
    assert helpers.pixel_xy(Image.open(record.images[1].path)) == (x0, y0)


def test_build_command(lrs_vqa, tmp_path):
    src, images = lrs_vqa
    rows = [json.loads(line) for line in src.read_text().splitlines()[:20]]
    small = _write_rows(tmp_path / "rows.jsonl", rows)
    config = tmp_path / "build.yaml"
    config.write_text("dataset: lrs_vqa_zoom_small\npolicy:\n  max_pixels: 50176\ncrop:\n  margin: 0.5\n")
    out = tmp_path / "out"
    args = ["build", str(small), "--images", str(images), "--out", str(out), "--config", str(config)]
    result = CliRunner().invoke(main, [*args, "--convention", "relative1000", "--variant", "open", "--min-size", "8"])
    assert result.exit_code == 0, result.output
    assert "20 records" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "lrs_vqa_zoom_small"
    assert manifest["config"]["crop"] == {"margin": 0.5, "min_size": 8, "max_aspect_ratio": 200.0}
    assert manifest["config"]["convention"] == "relative1000"
    record = next(r for r in read_records(out / "records.jsonl") if len(r.images) == 2)
    assert "0-1000" in record.messages[0].content[0].text


def test_build_command_rejects_bad_settings(lrs_vqa, tmp_path):
    src, images = lrs_vqa
    config = tmp_path / "build.yaml"
    config.write_text("num_choices: 1\n")
    args = ["build", str(src), "--images", str(images), "--out", str(tmp_path / "o"), "--config", str(config)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "build.yaml" in result.output and "num_choices" in result.output


def test_real_sizes_for_a_few_rows(tmp_path, helpers):
    """Unscaled rows: two questions on one 4084 x 2104 PNG and a counting question on a 1500 x 1500 TIFF."""
    rows = {row["question_id"]: row for row in map(json.loads, DATA.read_text().splitlines())}
    picked = [rows["STAR_735"], rows["STAR_2107"], rows["FAIR_2036"]]
    images = tmp_path / "images"
    for row in picked:
        _draw_image(images / row["image"], row["image_size"], helpers)
    src = _write_rows(tmp_path / "rows.jsonl", picked)
    manifest = build_zoom_dataset(src, images, tmp_path / "out", BuildConfig(policy=POLICY))
    assert (manifest.records, manifest.zoom_records, manifest.skipped_count) == (3, 2, 0)
    assert manifest.size_order == {"width_height": 3}
    records = {r.id: r for r in read_records(tmp_path / "out" / "records.jsonl")}
    assert records["STAR_735"].images[0].path == records["STAR_2107"].images[0].path  # one overview per image
    for question_id in ("STAR_735", "STAR_2107"):
        record = records[question_id]
        x0, y0, x1, y1 = record.meta["crop_window"]
        ex0, ey0, ex1, ey1 = rows[question_id]["hbox"]
        assert x0 <= ex0 and ex1 <= x1 and y0 <= ey0 and ey1 <= y1
        crop = Image.open(record.images[1].path)
        assert helpers.pixel_xy(crop) == (x0, y0) and crop.size == (x1 - x0, y1 - y0)


@pytest.fixture(scope="module")
def visual_cot(lrs_vqa, tmp_path_factory):
    """(entries file, images folder, rows by id): upstream's visual-CoT structure (bbox_info.crop_hbox) made from real
    rows: a zoom question, a comparison with two boxes, a multiple-choice zoom question and a broken entry."""
    src, images = lrs_vqa
    rows = {row["question_id"]: row for row in map(json.loads, src.read_text().splitlines())}
    one, two = rows["GLH-Bridge_381"], rows["STAR_1999"]

    def entry(row, **fields):
        size = {"image_ori_width": row["image_size"][0], "image_ori_height": row["image_size"][1]}
        return {"question_id": row["question_id"], "image": row["image"], **size, **fields}

    entries = [
        entry(one, question=one["text"], answer=one["ground_truth"], bbox_info={"crop_hbox": [one["hbox"]]}),
        entry(two, question="Compare?", answer="yes", bbox_info={"crop_hbox": [two["hbox"], one["hbox"]]}),
        entry(
            two,
            Text=two["text"],
            **{"Answer choices": ["(A) coal", "(B) sand"], "Ground truth": "A"},
            bbox_info={"crop_hbox": [two["hbox"]]},
        )
        | {"question_id": "STAR_1999_mcq"},
        {"question_id": "broken", "image": one["image"], "question": "q", "answer": "a", "bbox_info": {}},
    ]
    path = tmp_path_factory.mktemp("visual_cot") / "visual_cot.json"
    path.write_text(json.dumps(entries))
    return path, images, rows


def test_visual_cot_entries_are_cut_at_their_own_crop_boxes(visual_cot, tmp_path, helpers):
    """The crop is the box itself."""
    path, images, rows = visual_cot
    one = rows["GLH-Bridge_381"]
    config = BuildConfig(source_format="visual-cot", variants=["open", "mc"], policy=POLICY)
    manifest = build_zoom_dataset(path, images, tmp_path / "out", config)
    records = {r.id: r for r in read_records(tmp_path / "out" / "records.jsonl")}
    assert sorted(records) == ["GLH-Bridge_381", "STAR_1999", "STAR_1999_mcq"]
    assert manifest.records_by_variant == {"open": 2, "mc": 1} and manifest.zoom_records == 2
    (skip,) = manifest.skipped
    assert skip["line"] is None and "crop_hbox" in skip["reason"]
    zoom = records["GLH-Bridge_381"]
    x1, y1, x2, y2 = one["hbox"]  # 1953 / 32 ... : the crop is exactly the box's pixels, no margin
    assert zoom.meta["crop_window"] == [math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)]
    crop = Image.open(zoom.images[1].path)
    assert helpers.pixel_xy(crop) == (math.floor(x1), math.floor(y1))
    assert zoom.messages[-1].content[0].text == "blue"
    assert len(records["STAR_1999"].images) == 1  # two crop boxes: a plain question
    mcq = records["STAR_1999_mcq"]
    assert mcq.messages[-1].content[0].text == "A" and "(B) sand" in mcq.messages[1].content[1].text


def test_a_visual_cot_crop_too_thin_for_the_processor_is_skipped_by_the_builder(visual_cot, tmp_path):
    """A crop box 1 x 201 px (beyond Qwen's 1:200) is refused by the builder as by the in-memory chain."""
    path, images, _ = visual_cot
    entries = json.loads(path.read_text())
    entries[0]["bbox_info"]["crop_hbox"] = [[10, 10, 11, 211]]
    thin = tmp_path / "thin.json"
    thin.write_text(json.dumps(entries))
    manifest = build_zoom_dataset(
        thin, images, tmp_path / "out", BuildConfig(source_format="visual-cot", policy=POLICY)
    )
    assert [s["reason"] for s in manifest.skipped if "thin" in s["reason"]] == [
        f"{entries[0]['question_id']}: crop too thin (1x201)"
    ]
    assert not list((tmp_path / "out" / "images" / "crop").glob(f"{entries[0]['question_id']}*"))


def _shown(sample) -> list[tuple[str, list]]:
    """Role and parts of a rendered conversation, image parts by their size only (the files differ)."""
    return [
        (
            m["role"],
            [(p["resized_width"], p["resized_height"]) if p["type"] == "image" else p["text"] for p in m["content"]],
        )
        for m in sample.messages
    ]


@pytest.mark.parametrize("convention", ["absolute", "relative1000"])
def test_visual_cot_records_make_the_builders_chains_without_files(visual_cot, tmp_path, convention):
    """`as_zoom_chain` on the reader's records renders what `rs-zoom build` wrote, pixel for pixel."""
    path, images, _ = visual_cot
    config = BuildConfig(source_format="visual-cot", policy=POLICY, convention=convention)
    build_zoom_dataset(path, images, tmp_path / "out", config)
    built = {r.id: r for r in read_records(tmp_path / "out" / "records.jsonl")}
    render_config = RenderConfig(convention=convention)
    read = READERS["visual-cot"](path, images=images).records
    assert sorted(r.id for r in read) == sorted(built)
    for record in read:
        chain = as_zoom_chain(record, render_config)
        ours = render(chain, POLICY, render_config, np.random.default_rng(0), load_images=True)
        theirs = render(built[record.id], POLICY, render_config, np.random.default_rng(0), load_images=True)
        assert _shown(ours) == _shown(theirs)
        assert [np.asarray(i).tolist() for i in ours.images] == [np.asarray(i).tolist() for i in theirs.images]
        assert {i.path for i in chain.images} == {record.images[0].path}  # the source itself, nothing written
    assert as_zoom_chain(built["GLH-Bridge_381"], render_config) == built["GLH-Bridge_381"]  # a chain stays as it is


def test_bad_crop_boxes_are_refused_by_name(visual_cot):
    path, images, _ = visual_cot
    record = next(r for r in READERS["visual-cot"](path, images=images).records if r.id == "GLH-Bridge_381")
    width = record.images[0].width
    for boxes, reason in [
        ([[1, 2, 3]], "is not x1, y1, x2, y2"),
        ("a box", "crop_hbox 'a box'"),
        ([[width + 1, 0, width + 9, 9]], "lies outside"),
        ([[10, 10, 11, 10 + 201]], "too thin"),
    ]:
        broken = record.model_copy(update={"meta": record.meta | {CROP_BOXES: boxes}})
        with pytest.raises(CropBoxError, match=f"record GLH-Bridge_381: .*{reason}"):
            visual_cot_chain(broken, "absolute")
