"""Every reader on real samples (DOTA, DIOR-R, DIOR-RSVG, HRSC2016, Sydney-captions, LRS-VQA) or on files in the
format's documented structure; every record-level problem is reported with its file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data.readers import READERS
from rs_detect_eval import read_dota_label
from rs_resolution import poly_area, poly_to_hbb

DIOR_GOLFFIELD = [133.0, 237.0, 684.0, 237.0, 684.0, 672.0, 133.0, 672.0]


def test_dota_real_labels_with_header_lines(data_dir: Path) -> None:
    result = READERS["dota"](data_dir / "dota")
    (record,) = result.records
    truth = read_dota_label(data_dir / "dota" / "labelTxt" / "P1888.txt")
    assert (record.id, record.images[0].width, record.images[0].height) == ("P1888", 712, 557)
    assert [o.label for o in record.annotation.objects] == truth.labels
    np.testing.assert_allclose([o.polygon for o in record.annotation.objects], truth.polygons)
    assert record.annotation.classes[:2] == ["plane", "baseball-diamond"]
    # P1088 has labels but its image is not in the sample: reported, not lost silently.
    assert [(Path(s.file).name, s.reason) for s in result.skipped] == [("P1088.txt", "image not found: P1088")]


def test_dota_bow_tie_is_repaired_and_malformed_line_reported(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "labelTxt").mkdir()
    (tmp_path / "images").mkdir()
    bad = data_dir / "bad_inputs" / "dota_label_with_selfintersecting_quad.txt"
    (tmp_path / "labelTxt" / "bowtie.txt").write_text(bad.read_text())
    (tmp_path / "labelTxt" / "broken.txt").write_text("10 10 50 10 50 30 10 30 plane 0\n1 2 3 plane\n")
    for name in ("bowtie", "broken"):
        Image.new("RGB", (800, 800)).save(tmp_path / "images" / f"{name}.png")
    result = READERS["dota"](tmp_path)
    by_id = {r.id: r for r in result.records}
    # the malformed line costs only its own object: the good line of broken.txt is kept
    assert [o.polygon for o in by_id["broken"].annotation.objects] == [[10, 10, 50, 10, 50, 30, 10, 30]]
    record = by_id["bowtie"]
    assert len(record.annotation.objects) == 4
    assert [o.difficult for o in record.annotation.objects] == [False, False, True, False]
    repaired = np.array(record.annotation.objects[3].polygon)
    assert poly_area(repaired) > 0
    assert sorted(repaired.reshape(4, 2).tolist()) == sorted([[126, 191], [128, 171], [123, 178], [221, 199]])
    (skip,) = result.skipped
    assert (Path(skip.file).name, skip.line) == ("broken.txt", 2)


def test_dior_r_corners_and_dior_hbb_agree_on_the_same_object(data_dir: Path) -> None:
    (obb,) = READERS["dior-r"](data_dir / "dior_r").records
    (hbb,) = READERS["dior"](data_dir / "dior_rsvg" / "Annotations", images=data_dir / "dior_r").records
    for record in (obb, hbb):
        assert [(o.label, o.polygon) for o in record.annotation.objects] == [("golffield", DIOR_GOLFFIELD)]
        assert (record.images[0].width, record.images[0].height) == (800, 800)


def test_dior_annotated_size_must_match_the_image(data_dir: Path, tmp_path: Path) -> None:
    xml = (data_dir / "dior_r" / "00001.xml").read_text().replace("<width>800</width>", "<width>801</width>")
    (tmp_path / "00001.xml").write_text(xml)
    result = READERS["dior-r"](tmp_path, images=data_dir / "dior_r")
    assert not result.records
    assert "annotated size 801x800 != image 800x800" in result.skipped[0].reason


def test_hrsc_rotated_box_in_radians(data_dir: Path) -> None:
    (record,) = READERS["hrsc2016"](data_dir / "hrsc2016", check_images=False).records
    (ship,) = record.annotation.objects
    polygon = np.array(ship.polygon)
    assert ship.label == "ship"
    assert (record.images[0].width, record.images[0].height) == (1172, 816)
    np.testing.assert_allclose(polygon.reshape(4, 2).mean(0), [341.2143, 443.3325], atol=1e-6)
    assert poly_area(polygon) == pytest.approx(778.4297 * 178.2595, rel=1e-6)
    # The long side runs from the bow (header_x, header_y = 143, 776) up to the right, as the HBB says.
    x1, y1, x2, y2 = poly_to_hbb(polygon)
    assert x1 < 143 < x2 and y1 < 776 < y2
    assert abs(x1 - 119) < 30 and abs(y1 - 75) < 30 and abs(x2 - 587) < 30


def test_hrsc_missing_image_is_reported_when_images_are_checked(data_dir: Path) -> None:
    result = READERS["hrsc2016"](data_dir / "hrsc2016")
    assert not result.records
    assert result.skipped[0].reason == "image not found: 100000006.bmp"


def test_fair1m_closed_polygons_unknown_class_and_broken_xml(sources: dict[str, Path]) -> None:
    result = READERS["fair1m"](sources["fair1m"])
    (record,) = result.records
    assert [(o.label, o.polygon) for o in record.annotation.objects] == [
        ("Boeing737", [10.0, 10.0, 50.0, 10.0, 50.0, 30.0, 10.0, 30.0]),
        ("Small Car", [60.5, 60.0, 80.0, 62.0, 78.0, 80.0, 58.0, 78.0]),
    ]
    unknown, broken = sorted((Path(s.file).name, s.line, s.reason) for s in result.skipped)
    assert unknown == ("7.xml", None, "object 2: unknown class 'Flying Saucer'")
    assert broken[:2] == ("8.xml", 1) and broken[2].startswith("malformed XML: ")


def test_coco_bbox_polygon_crowd_and_unknown_category(sources: dict[str, Path]) -> None:
    result = READERS["coco"](sources["coco"])
    (record,) = result.records
    objects = [(o.label, o.polygon, o.difficult) for o in record.annotation.objects]
    assert objects[0] == ("ship", [10.0, 20.0, 40.0, 20.0, 40.0, 30.0, 10.0, 30.0], False)
    assert objects[1][0] == "harbor" and list(poly_to_hbb(np.array(objects[1][1]))) == [50, 40, 70, 60]
    assert objects[2] == ("ship", [0.0, 0.0, 5.0, 0.0, 5.0, 5.0, 0.0, 5.0], True)
    assert record.annotation.classes == ["harbor", "ship"]
    assert [s.reason for s in result.skipped] == ["annotation 13: unknown category_id 9"]


def test_dior_rsvg_split_indices_count_objects_of_sorted_files(data_dir: Path, sources: dict[str, Path]) -> None:
    test = READERS["dior-rsvg"](sources["dior-rsvg"], split="test", images=data_dir / "dior_r")
    (record,) = test.records
    assert record.task == "grounding" and record.split == "test"
    assert record.annotation.expression == "A green and brown golf field"
    assert record.annotation.polygon == DIOR_GOLFFIELD
    train = READERS["dior-rsvg"](sources["dior-rsvg"], split="train", images=data_dir / "dior_r")
    assert not train.records  # train.txt lists index 5; the one annotation file holds one object (index 0)
    assert [(Path(s.file).name, s.line, s.reason) for s in train.skipped] == [
        ("train.txt", 1, "object index 5: the annotations hold 1 objects")
    ]


def test_vrsbench_relative_corners_caption_and_qa(sources: dict[str, Path]) -> None:
    result = READERS["vrsbench"](sources["vrsbench"])
    by_task = {r.task: r for r in result.records}
    assert set(by_task) == {"captioning", "grounding", "vqa"}
    assert by_task["grounding"].annotation.polygon == pytest.approx([20, 10, 60, 10, 60, 20, 20, 20])
    assert by_task["vqa"].annotation.answer == "2"
    # the second object (index 1) has no referring sentence
    assert [s.reason for s in result.skipped] == ["object 1: needs 8 obj_corner values and a sentence"]


def test_karpathy_captions_real_sentences(sources: dict[str, Path]) -> None:
    result = READERS["captions"](sources["captions"] / "captions.json", images=sources["captions"] / "images")
    assert len(result.records) == 7
    first = result.records[0]
    assert first.annotation.captions[0] == "A residential area with houses arranged neatly ."
    assert len(first.annotation.captions) == 5 and first.split == "train"
    assert [s.reason for s in result.skipped] == ["image not found: 220.tif"]
    only_val = READERS["captions"](sources["captions"] / "captions.json", split="val")
    assert {r.split for r in only_val.records} == {"val"}


def test_rsvqa_joins_three_files_and_skips_inactive(sources: dict[str, Path]) -> None:
    result = READERS["rsvqa"](sources["rsvqa"], images=sources["rsvqa"] / "Images_LR")
    answers = {(r.annotation.question_type, r.annotation.answer) for r in result.records}
    assert answers == {("presence", "yes"), ("count", "between 11 and 100"), ("rural_urban", "rural")}
    assert "inactive" in result.skipped[0].reason


def test_class_folders_with_split_file_and_corrupt_image(sources: dict[str, Path]) -> None:
    full = READERS["classification"](sources["classification"], workers=2)
    assert sorted(r.id for r in full.records) == [
        "airport/airport_1",
        "airport/airport_2",
        "beach/beach_1",
        "beach/beach_2",
    ]
    assert full.records[0].annotation.classes == ["airport", "beach"]
    assert "unreadable image" in full.skipped[0].reason
    split_file = sources["classification"].parent / "aid_test.txt"
    split = READERS["classification"](sources["classification"], split_file=split_file, split="test")
    assert [r.id for r in split.records] == ["airport/airport_2", "beach/beach_1"]
    assert (split.skipped[0].line, "beach_7" in split.skipped[0].reason) == (3, True)


def test_llava_geochat_boxes_become_poly_markers(sources: dict[str, Path]) -> None:
    result = READERS["llava"](sources["llava"], images=sources["llava"].parent / "images")
    (record,) = result.records
    assert [m.role for m in record.messages] == ["user", "assistant", "user", "assistant"]
    assert record.messages[0].content[0].type == "image"
    # {<10><20><30><40>|<0>} on a 400x200 image: x 40..120, y 40..80.
    text = record.messages[1].content[0].text
    values = sorted(float(v) for v in text[len("<poly>") : -len("</poly>")].split(","))
    assert values == sorted([40.0, 80, 40, 40, 120, 40, 120, 80])
    assert len(result.skipped) == 2


def test_lrs_vqa_real_rows_with_out_of_image_evidence(data_dir: Path) -> None:
    result = READERS["lrs-vqa"](data_dir / "lrs_vqa" / "LRS_VQA_sample300.jsonl", check_images=False)
    assert len(result.records) == 300 and not result.skipped
    counts = [r for r in result.records if r.annotation.question_type == "count"]
    assert counts and all(not r.annotation.evidence for r in counts)
    (clipped,) = [r for r in result.records if r.meta.get("evidence_clipped")]
    assert clipped.id == "FAIR_2"
    assert max(clipped.annotation.evidence[0][1::2]) <= clipped.images[0].height


def test_lrs_vqa_without_images_is_reported_when_checking(data_dir: Path) -> None:
    result = READERS["lrs-vqa"](data_dir / "lrs_vqa" / "LRS_VQA_sample300.jsonl")
    assert not result.records and len(result.skipped) == 300
    assert result.skipped[0].line == 1


def test_objects_outside_the_image_are_dropped_and_counted(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "labelTxt").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "labelTxt" / "a.txt").write_text("10 10 20 10 20 20 10 20 ship 0\n200 10 220 10 220 20 200 20 ship 0\n")
    Image.new("RGB", (100, 50)).save(tmp_path / "images" / "a.png")
    result = READERS["dota"](tmp_path)
    assert len(result.records[0].annotation.objects) == 1
    assert "outside the 100x50 image" in result.skipped[0].reason


def test_structural_errors_name_the_file(sources: dict[str, Path], tmp_path: Path) -> None:
    bad_coco = tmp_path / "coco.json"
    bad_coco.write_text('{"images": [], "annotations": [], "categories": [{"id": 1}]}')
    with pytest.raises(ValueError, match=r"coco\.json: every category needs"):
        READERS["coco"](bad_coco)
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(ValueError, match=r"broken\.json:2:\d+: invalid JSON"):
        READERS["captions"](broken)
    with pytest.raises(FileNotFoundError, match="no labelTxt"):
        READERS["dota"](tmp_path)


def test_unknown_reader_option_is_named(data_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"dota: unknown option\(s\) \['bogus'\]"):
        READERS["dota"](data_dir / "dota", bogus=1)


def _copy_with_images(src: Path, dest: Path, images: dict[str, tuple[int, int]]) -> Path:
    """`src` copied into `dest`, with plain images of the given (width, height) under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / src.name).write_text(src.read_text())
    for name, size in images.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (60, 90, 120)).save(dest / name)
    return dest / src.name


def test_nwpu_captions_per_class_lists_with_five_sentences(data_dir: Path, tmp_path: Path) -> None:
    names = ["airplane/airplane_001.jpg", "airplane/airplane_002.jpg", "baseball_diamond/baseball_diamond_001.jpg"]
    src = _copy_with_images(data_dir / "nwpu_captions" / "dataset_nwpu_small.json", tmp_path, {})
    for name in names[:2]:
        _copy_with_images(src, tmp_path / "NWPU_images", {name: (256, 256)})
    result = READERS["nwpu-captions"](src, images=tmp_path / "NWPU_images", split="test")
    (record,) = result.records
    truth = json.loads(src.read_text())["airplane"][0]
    assert (record.id, record.task, record.split, record.meta["class"]) == (
        "airplane_001",
        "captioning",
        "test",
        "airplane",
    )
    assert record.annotation.captions == [truth[k] for k in ("raw", "raw_1", "raw_2", "raw_3", "raw_4")]
    assert record.images[0].path.endswith("airplane/airplane_001.jpg")
    # the baseball-diamond test image is missing: reported with its class-relative name
    (skip,) = result.skipped
    assert skip.reason == "image not found: baseball_diamond/baseball_diamond_001.jpg"
    assert len(READERS["nwpu-captions"](src, images=tmp_path / "NWPU_images").records) == 2
    flat = tmp_path / "karpathy.json"
    flat.write_text('{"images": [{"filename": "a.jpg", "sentences": []}], "dataset": "rsicd"}')
    with pytest.raises(ValueError, match="per-class lists"):
        READERS["nwpu-captions"](flat)


def test_mme_realworld_keeps_remote_sensing_with_lettered_choices(data_dir: Path, tmp_path: Path) -> None:
    src = _copy_with_images(
        data_dir / "mme_realworld" / "MME_RealWorld_small.json", tmp_path, {"remote_sensing/00001.jpg": (800, 800)}
    )
    result = READERS["mme-realworld"](src)
    assert [r.annotation.answer for r in result.records] == ["B", "C"]
    first = result.records[0]
    assert first.task == "uhr_vqa" and first.annotation.question_type == "color"
    assert first.annotation.question.splitlines()[1] == "(A) Blue"
    assert first.annotation.question.endswith("Respond with only the letter (A, B, C, D, or E) of the correct option.")
    assert not result.skipped
    (tmp_path / "remote_sensing" / "00001.jpg").unlink()
    missing = READERS["mme-realworld"](src)
    assert not missing.records and len(missing.skipped) == 2


def test_image_folder_gives_unlabelled_detection_records(tmp_path: Path) -> None:
    Image.new("RGB", (64, 32)).save(tmp_path / "P0001__1__0___0.png")
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (16, 16)).save(tmp_path / "sub" / "P0002.jpg")
    Image.new("RGB", (16, 16)).save(tmp_path / "sub" / "P0001__1__0___0.tif")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    result = READERS["image-folder"](tmp_path, classes="dota1.0")
    assert [(r.id, r.images[0].width, r.annotation.objects) for r in result.records] == [
        ("P0001__1__0___0", 64, []),
        ("P0002", 16, []),
    ]
    assert result.records[0].annotation.classes[0] == "plane"
    reasons = {Path(s.file).name: s.reason for s in result.skipped}
    assert reasons["broken.png"].startswith("unreadable image")
    assert reasons["P0001__1__0___0.tif"].startswith("same name as") and len(reasons) == 2


def test_geochat_bench_scene_and_vqa_lines(data_dir: Path, tmp_path: Path) -> None:
    scene_images = {"Airport/airport_1.jpg": (600, 600), "Beach/beach_7.jpg": (600, 600)}
    scene = READERS["geochat-bench"](
        _copy_with_images(data_dir / "geochat_bench" / "aid_small.jsonl", tmp_path / "aid", scene_images), kind="scene"
    )
    labels = [(r.id, r.annotation.label) for r in scene.records]
    assert labels == [("Airport/airport_1.jpg", "Airport"), ("Beach/beach_7.jpg", "Beach")]
    assert scene.records[0].annotation.classes == ["Airport", "BareLand", "Beach"]  # the last line's class from its id
    assert [(s.line, s.reason) for s in scene.skipped] == [(3, "image not found: BareLand/bareland_3.jpg")]
    src = _copy_with_images(data_dir / "geochat_bench" / "lrben_small.jsonl", tmp_path / "lr", {"0.tif": (256, 256)})
    vqa = READERS["geochat-bench"](src, kind="vqa")
    assert [(r.annotation.question_type, r.annotation.answer) for r in vqa.records] == [
        ("presence", "yes"),
        ("count", "4"),
    ]
    assert vqa.records[0].annotation.question.startswith("Is there a road?")
    assert [s.line for s in vqa.skipped] == [3] and "ground_truth" in vqa.skipped[0].reason
    with pytest.raises(ValueError, match="kind must be"):
        READERS["geochat-bench"](src, kind="caption")


def test_geochat_bench_referring_boxes_match_the_llava_conversion(data_dir: Path, tmp_path: Path) -> None:
    from rs_data.readers.llava import geochat_to_poly_tags
    from rs_data.schema import ImageRef, poly_tag

    src = _copy_with_images(data_dir / "geochat_bench" / "referring_small.jsonl", tmp_path, {"00001.png": (800, 600)})
    result = READERS["geochat-bench"](src, kind="referring")
    first, second = result.records
    assert (first.task, first.annotation.expression, first.meta["size_group"]) == (
        "grounding",
        "the golf field in the middle",
        "large",
    )
    # 0-100 grid of an 800 x 600 image: x * 8, y * 6
    assert poly_to_hbb(np.array(first.annotation.polygon)).tolist() == [128.0, 180.0, 688.0, 504.0]
    assert poly_to_hbb(np.array(second.annotation.polygon)).tolist() == [16.0, 60.0, 160.0, 300.0]
    image = ImageRef(path="x.png", width=800, height=600)
    assert geochat_to_poly_tags("at {<16><30><86><84>|<0>}", image) == "at " + poly_tag(first.annotation.polygon)
    (skip,) = result.skipped
    assert skip.line == 3 and "only `ref` lines" in skip.reason
