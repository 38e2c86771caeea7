"""Real files made slightly wrong: one bad object or row costs that object or row (reported with file, line and
reason), never the image, the run, or a traceback; a byte-order mark changes nothing; fuzzed JSON crashes no reader."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rs_data.convert import StrictModeError, convert
from rs_data.readers import READERS
from rs_data_fuzzing import FUZZ, field_mutations, fuzz_read, mutated

BOM = "\ufeff"


def _dota_source(data_dir: Path, root: Path, extra_lines: str) -> Path:
    shutil.copytree(data_dir / "dota" / "images", root / "images")
    (root / "labelTxt").mkdir()
    text = (data_dir / "dota" / "labelTxt" / "P1888.txt").read_text()
    (root / "labelTxt" / "P1888.txt").write_text(BOM + text + extra_lines)
    return root


def test_dota_bad_lines_cost_only_themselves(data_dir: Path, tmp_path: Path) -> None:
    # P1888.txt: 2 header lines and 64 objects (lines 3-66); three bad lines follow as lines 67-69.
    bad = "1 2 3 4 5 6 7 small-vehicle\n1 2 3 4 5 6 7 x small-vehicle 0\n1 2 3 4 nan 6 7 8 small-vehicle 0\n"
    source = _dota_source(data_dir, tmp_path / "dota", bad)
    result = READERS["dota"](source)
    (record,) = result.records
    assert len(record.annotation.objects) == 64
    assert [(Path(s.file).name, s.line) for s in result.skipped] == [("P1888.txt", n) for n in (67, 68, 69)]
    assert "got 8 fields" in result.skipped[0].reason and "non-numeric" in result.skipped[1].reason
    assert "non-finite" in result.skipped[2].reason
    with pytest.raises(StrictModeError, match=r"P1888\.txt:67"):
        convert("dota", source, tmp_path / "out", strict=True)


def test_dota_refuses_check_images(data_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['check_images'\]"):
        READERS["dota"](data_dir / "dota", check_images=False)


def test_xml_bad_objects_cost_only_themselves(data_dir: Path, tmp_path: Path) -> None:
    xml = (data_dir / "dior_r" / "00001.xml").read_text()
    start, end = xml.index("<object>"), xml.index("</object>") + len("</object>")
    good = xml[start:end]
    nameless = good.replace("<name>golffield</name>", "")
    empty_flag = good.replace("<difficult>0</difficult>", "<difficult/>")
    unknown = good.replace("<name>golffield</name>", "<name>spaceport</name>")
    assert nameless != good and empty_flag != good and unknown != good
    (tmp_path / "00001.xml").write_text(xml[:end] + nameless + empty_flag + unknown + xml[end:])
    result = READERS["dior-r"](tmp_path, images=data_dir / "dior_r")
    (record,) = result.records
    assert [o.label for o in record.annotation.objects] == ["golffield"]
    # objects are numbered as they stand in the file, whatever was left out before them
    assert [s.reason for s in result.skipped] == [
        "object 1: missing <name>",
        "object 2: missing <difficult>",
        "object 3: unknown class 'spaceport'",
    ]

    hrsc = (data_dir / "hrsc2016" / "100000006.xml").read_text()
    start, end = hrsc.index("<HRSC_Object>"), hrsc.index("</HRSC_Object>") + len("</HRSC_Object>")
    broken = hrsc[start:end].replace("<difficult>0</difficult>", "<difficult></difficult>")
    (tmp_path / "hrsc").mkdir()
    (tmp_path / "hrsc" / "100000006.xml").write_text(hrsc[:end] + broken + hrsc[end:])
    result = READERS["hrsc2016"](tmp_path / "hrsc", check_images=False)
    assert len(result.records[0].annotation.objects) == 1
    assert [s.reason for s in result.skipped] == ["object 1: missing <difficult>"]


@pytest.mark.parametrize(("width", "shown"), [("inf", "'inf'"), ("-800", "'-800'"), ("800.5", "'800.5'")])
def test_xml_image_size_must_be_a_positive_whole_number(width: str, shown: str, data_dir: Path, tmp_path: Path) -> None:
    xml = (data_dir / "dior_r" / "00001.xml").read_text()
    assert "<width>800</width>" in xml
    (tmp_path / "00001.xml").write_text(xml.replace("<width>800</width>", f"<width>{width}</width>"))
    result = READERS["dior-r"](tmp_path, check_images=False)
    assert not result.records
    assert [(Path(s.file).name, s.reason) for s in result.skipped] == [
        ("00001.xml", f"<size/width> is not a positive whole number: {shown}")
    ]


def test_karpathy_bad_entries_are_counted_skips(data_dir: Path, tmp_path: Path) -> None:
    data = json.loads((data_dir / "captions" / "dataset_sydney_subset.json").read_text())
    for entry in data["images"]:
        Image.new("RGB", (8, 8)).save(tmp_path / entry["filename"])
    count = len(data["images"])
    data["images"][0]["sentences"] = [{"raw": None}]
    data["images"][1]["filename"] = 7
    data["images"].append("not an entry")
    (tmp_path / "captions.json").write_text(BOM + json.dumps(data))
    result = READERS["captions"](tmp_path / "captions.json")
    assert len(result.records) == count - 2
    reasons = [s.reason for s in result.skipped]
    assert reasons[:2] == [f"images[{i}]: needs a filename and at least one sentence" for i in (0, 1)]
    assert reasons[2] == f"images[{count}] is a JSON str, not an object"


def _lrs_rows(data_dir: Path, count: int) -> list[dict]:
    lines = (data_dir / "lrs_vqa" / "LRS_VQA_sample300.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:count]]


def test_lrs_vqa_bad_rows_are_counted_skips(data_dir: Path, tmp_path: Path) -> None:
    rows = _lrs_rows(data_dir, 8)
    rows[1]["question_id"] = 17  # the official ids are strings such as "GLH-Bridge_381"
    rows[2]["text"] = None
    rows[3]["rbox"] = rows[3]["rbox"][:7] if "rbox" in rows[3] else [1, 2, 3, 4, 5, 6, 7]
    rows[4]["image_size"] = [0, 0]
    rows[5]["question_id"] = 1e400  # json reads it as infinity
    text = "\n".join(json.dumps(r) for r in rows).replace("Infinity", "1e400")
    (tmp_path / "lrs.jsonl").write_text(BOM + text + "\n")
    result = READERS["lrs-vqa"](tmp_path / "lrs.jsonl", check_images=False)
    assert [r.id for r in result.records] == [rows[0]["question_id"], rows[6]["question_id"], rows[7]["question_id"]]
    skipped = {s.line: s.reason for s in result.skipped}
    assert sorted(skipped) == [2, 3, 4, 5, 6] and all(Path(s.file).name == "lrs.jsonl" for s in result.skipped)
    assert skipped[2] == "malformed row: question_id is 17, not a string like 'GLH-Bridge_381'"
    assert "text is None" in skipped[3] and "image_size [0, 0]" in skipped[5] and "question_id is inf" in skipped[6]
    with pytest.raises(StrictModeError, match=r"lrs\.jsonl:2: malformed row: question_id is 17"):
        convert("lrs-vqa", tmp_path / "lrs.jsonl", tmp_path / "out", {"check_images": False}, strict=True)


def test_lrs_vqa_image_size_orientation_is_decided_per_image(data_dir: Path) -> None:
    result = READERS["lrs-vqa"](data_dir / "lrs_vqa" / "LRS_VQA_sample300.jsonl", check_images=False)
    sizes: dict[str, set] = defaultdict(set)
    for record in result.records:
        sizes[record.images[0].path].add((record.images[0].width, record.images[0].height))
    assert all(len(s) == 1 for s in sizes.values())


def test_llava_array_line_and_bom(tmp_path: Path) -> None:
    Image.new("RGB", (40, 20)).save(tmp_path / "a.png")
    row = {
        "id": "a",
        "image": "a.png",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}],
    }
    (tmp_path / "chat.jsonl").write_text(BOM + json.dumps(row) + "\n[1, 2]\n" + json.dumps({**row, "id": "b"}) + "\n")
    result = READERS["llava"](tmp_path / "chat.jsonl")
    assert [r.id for r in result.records] == ["a", "b"]
    # a JSON array is read as a bare message list (Qwen's form), and [1, 2] holds no messages
    assert [(s.line, s.reason) for s in result.skipped] == [
        (2, "entry: bad message 1: needs a role among ('system', 'user', 'assistant')")
    ]


def test_coco_string_annotation_and_bom(tmp_path: Path) -> None:
    Image.new("RGB", (100, 80)).save(tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "ship"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 10]}, "oops"],
    }
    (tmp_path / "instances.json").write_text(BOM + json.dumps(data))
    result = READERS["coco"](tmp_path / "instances.json")
    assert len(result.records[0].annotation.objects) == 1
    assert [s.reason for s in result.skipped] == ["annotations[1] 'oops': a JSON str, not an object"]


def test_coco_objects_are_named_by_their_annotation_not_by_their_place_among_the_parsed(tmp_path: Path) -> None:
    Image.new("RGB", (100, 80)).save(tmp_path / "a.png")
    ann = {"image_id": 1, "category_id": 1}
    annotations = [
        {**ann, "id": 5, "category_id": 9, "bbox": [10, 20, 30, 10]},  # unknown category: skipped before parsing
        {**ann, "id": 6, "bbox": "wide"},  # no usable box: skipped while parsing
        {**ann, "id": 7, "bbox": [10, 20, 30, 10]},
        {**ann, "id": 8, "bbox": [500, 500, 10, 10]},  # outside the 100 x 80 image: skipped as an object
        {**ann, "bbox": [600, 600, 10, 10]},  # no id: named by its place in the file
    ]
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "ship"}],
        "annotations": annotations,
    }
    (tmp_path / "instances.json").write_text(json.dumps(data))
    result = READERS["coco"](tmp_path / "instances.json")
    assert len(result.records[0].annotation.objects) == 1
    named = [s.reason.split(":")[0].split(" (")[0] for s in result.skipped]
    assert named == ["annotation 5", "annotation 6", "annotation 8", "annotations[4]"]


# --- fuzzing: every field of a real entry replaced by a JSON value of any type --------------------------------------

LRS_ROW = {"question_id": "FAIR_1", "image": "a.png", "text": "q?", "ground_truth": "a", "image_size": [64, 48]}
LLAVA_ROW = {"id": "a", "image": "a.png", "conversations": [{"from": "human", "value": "<image>hi"}]}
CAPTION = {"filename": "a.png", "split": "train", "sentences": [{"raw": "a field"}]}
COCO_IMAGE = {"id": 1, "file_name": "a.png", "width": 64, "height": 48}
COCO_ANN = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "segmentation": [[1, 2, 11, 2, 11, 12]]}


def _jsonl(name):
    def write(root: Path, rows) -> Path:
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        return root / name

    return write


@pytest.mark.slow
@FUZZ
@given(field_mutations([*LRS_ROW, "rbox", "hbox", "category"]))
def test_fuzz_lrs_vqa(mutations) -> None:
    fuzz_read("lrs-vqa", _jsonl("rows.jsonl"), [mutated(LRS_ROW, m) for m in mutations], {"check_images": False})


@pytest.mark.slow
@FUZZ
@given(field_mutations([*LLAVA_ROW]))
def test_fuzz_llava(mutations) -> None:
    fuzz_read("llava", _jsonl("chat.jsonl"), [mutated(LLAVA_ROW, m) for m in mutations])


@pytest.mark.slow
@FUZZ
@given(field_mutations([*CAPTION, "imgid"]))
def test_fuzz_karpathy_captions(mutations) -> None:
    def write(root: Path, entries) -> Path:
        (root / "captions.json").write_text(json.dumps({"images": entries}))
        return root / "captions.json"

    fuzz_read("captions", write, [mutated(CAPTION, m) for m in mutations])


@pytest.mark.slow
@FUZZ
@given(field_mutations([*COCO_IMAGE]), field_mutations([*COCO_ANN, "iscrowd"]))
def test_fuzz_coco(images, annotations) -> None:
    def write(root: Path, entries) -> Path:
        images, annotations = entries
        data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "ship"}]}
        (root / "instances.json").write_text(json.dumps(data))
        return root / "instances.json"

    entries = ([mutated(COCO_IMAGE, m) for m in images], [mutated(COCO_ANN, m) for m in annotations])
    fuzz_read("coco", write, entries)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.lists(st.text(alphabet="0123456789.-e naNif", max_size=6), max_size=11), max_size=5))
def test_fuzz_dota_label_lines(lines) -> None:
    def write(root: Path, rows) -> Path:
        (root / "images").mkdir()
        (root / "labelTxt").mkdir()
        shutil.copy(root / "a.png", root / "images" / "a.png")
        (root / "labelTxt" / "a.txt").write_text("".join(" ".join(tokens) + " ship 0\n" for tokens in rows))
        return root

    fuzz_read("dota", write, lines)


def test_geochat_boxes_past_the_grid_are_clipped_or_skipped(tmp_path: Path) -> None:
    Image.new("RGB", (200, 100)).save(tmp_path / "a.png")

    def row(id_: str, box: str) -> dict:
        return {
            "id": id_,
            "image": "a.png",
            "conversations": [{"from": "human", "value": "[refer] the car"}, {"from": "gpt", "value": box}],
        }

    rows = [row("part", "{<90><50><120><130>|<0>}"), row("outside", "{<120><120><130><130>|<0>}")]
    (tmp_path / "chat.json").write_text(json.dumps(rows))
    result = READERS["llava"](tmp_path / "chat.json")
    (record,) = result.records
    # x 90..100, y 50..100 of the grid on a 200 x 100 image: pixels x 180..200, y 50..100
    assert record.meta == {"boxes_clipped": 1}
    assert record.messages[1].content[0].text == "<poly>180,100,180,50,200,50,200,100</poly>"
    assert [s.reason for s in result.skipped] == [
        "entry 1: GeoChat box [120.0, 120.0, 130.0, 130.0] lies outside the 0-100 grid"
    ]


RSVQA_IMAGE = {"id": 0, "questions_ids": [0], "active": True}
RSVQA_QUESTION = {"id": 0, "img_id": 0, "type": "presence", "question": "Is there a road?", "answers_ids": [0]}
RSVQA_ANSWER = {"id": 0, "question_id": 0, "answer": "yes", "active": True}


@pytest.mark.slow
@FUZZ
@given(field_mutations([*RSVQA_IMAGE]), field_mutations([*RSVQA_QUESTION]), field_mutations([*RSVQA_ANSWER]))
def test_fuzz_rsvqa(images, questions, answers) -> None:
    def write(root: Path, entries) -> Path:
        shutil.copy(root / "a.png", root / "0.png")
        for kind, rows in zip(("images", "questions", "answers"), entries, strict=True):
            (root / f"LR_split_test_{kind}.json").write_text(json.dumps({kind: rows}))
        return root

    entries = [
        [mutated(base, m) for m in mutations]
        for base, mutations in ((RSVQA_IMAGE, images), (RSVQA_QUESTION, questions), (RSVQA_ANSWER, answers))
    ]
    fuzz_read("rsvqa", write, entries, {"prefix": "LR_split_test"})


GEOCHAT_ROW = {"question_id": "Airport/a.png", "image": "a.png", "text": "Classify.", "ground_truth": "Airport"}
MME_ROW = {
    "Question_id": "perception/remote_sensing/color/0001",
    "Image": "a.png",
    "Text": "What colour?",
    "Answer choices": ["(A) Blue", "(B) Green"],
    "Ground truth": "B",
    "Subtask": "Remote Sensing",
    "Category": "color",
}
NWPU_ENTRY = {"filename": "a.png", "imgid": 0, "split": "test", "raw": "A plane.", "raw_1": "Two planes."}


@pytest.mark.slow
@FUZZ
@given(field_mutations([*GEOCHAT_ROW]), st.sampled_from(["scene", "vqa", "referring"]))
def test_fuzz_geochat_bench(mutations, kind) -> None:
    rows = [mutated(GEOCHAT_ROW, m) for m in mutations]
    fuzz_read("geochat-bench", _jsonl("questions.jsonl"), rows, {"kind": kind})


@pytest.mark.slow
@FUZZ
@given(field_mutations([*MME_ROW]))
def test_fuzz_mme_realworld(mutations) -> None:
    def write(root: Path, rows) -> Path:
        (root / "mme.json").write_text(json.dumps(rows))
        return root / "mme.json"

    fuzz_read("mme-realworld", write, [mutated(MME_ROW, m) for m in mutations])


@pytest.mark.slow
@FUZZ
@given(field_mutations([*NWPU_ENTRY]))
def test_fuzz_nwpu_captions(mutations) -> None:
    def write(root: Path, entries) -> Path:
        (root / "airplane").mkdir()
        shutil.copy(root / "a.png", root / "airplane" / "a.png")
        (root / "nwpu.json").write_text(json.dumps({"airplane": entries}))
        return root / "nwpu.json"

    fuzz_read("nwpu-captions", write, [mutated(NWPU_ENTRY, m) for m in mutations])


def test_vrsbench_bad_objects_and_questions_cost_only_themselves(sources: dict[str, Path], tmp_path: Path) -> None:
    shutil.copytree(sources["vrsbench"], tmp_path / "vrs")
    path = tmp_path / "vrs" / "P0003_0002.json"
    data = json.loads(path.read_text())
    good = data["objects"][0]
    data["objects"] = [good, "a ship", {**good, "obj_id": 3, "obj_corner": ["x"] * 8}]
    data["qa_pairs"].append({"ques_id": 1, "question": ["What?"], "answer": "2"})
    path.write_text(json.dumps(data))
    result = READERS["vrsbench"](tmp_path / "vrs")
    assert sorted(r.id for r in result.records) == ["P0003_0002_caption", "P0003_0002_obj1", "P0003_0002_qa0"]
    reasons = [s.reason for s in result.skipped]
    assert reasons[0] == "object 1 is a JSON str, not an object"
    assert reasons[1] == "object 2: malformed (ValueError: could not convert string to float: 'x')"
    assert reasons[2].startswith("QA pair 1: malformed (ValidationError: ") and len(reasons) == 3
    assert {Path(s.file).name for s in result.skipped} == {"P0003_0002.json"}


def test_dior_rsvg_bad_index_lines_are_counted_skips(data_dir: Path, sources: dict[str, Path], tmp_path: Path) -> None:
    shutil.copytree(sources["dior-rsvg"] / "Annotations", tmp_path / "Annotations")
    (tmp_path / "test.txt").write_bytes(b"0\nzero\n-1\n7\n\xff\n")
    result = READERS["dior-rsvg"](tmp_path, split="test", images=data_dir / "dior_r")
    assert [r.id for r in result.records] == ["00001_0"]
    assert [(Path(s.file).name, s.line, s.reason) for s in result.skipped] == [
        ("test.txt", 2, "not an object index: 'zero'"),
        ("test.txt", 3, "object index -1 is negative"),
        ("test.txt", 5, "not an object index: '\ufffd'"),
        ("test.txt", 4, "object index 7: the annotations hold 1 objects"),
    ]


def test_classification_split_line_that_is_not_utf8_costs_only_itself(sources: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "split.txt").write_bytes(b"airport/airport_2.jpg\n\xffbeach_1.jpg\n")
    result = READERS["classification"](sources["classification"], split_file=tmp_path / "split.txt")
    assert [r.id for r in result.records] == ["airport/airport_2"]
    ((line, reason),) = [(s.line, s.reason) for s in result.skipped]
    assert line == 2 and reason.startswith("image '\ufffdbeach_1.jpg' not found under ")


def test_rsvqa_rows_with_unusable_ids_are_counted_skips(tmp_path: Path) -> None:
    for name in ("0", "3"):
        Image.new("RGB", (16, 16)).save(tmp_path / f"{name}.tif")
    question = {"type": "presence", "question": "Is there a road?"}
    tables = {
        "images": [
            {"id": 0, "questions_ids": [0, "1", 9]},
            {"questions_ids": [2]},
            {"id": 1.5, "questions_ids": []},
            {"id": 3, "questions_ids": [4]},
        ],
        "questions": [
            {**question, "id": 0, "img_id": 0, "answers_ids": [0, 7]},
            {**question, "id": "1", "img_id": 0, "answers_ids": []},
            {**question, "id": 2, "img_id": 1, "answers_ids": [2]},
            {**question, "id": 4, "img_id": 0, "answers_ids": []},
        ],
        "answers": [
            {"id": 0, "question_id": 0, "answer": "yes"},
            {"id": 7, "question_id": 5, "answer": "no"},
            {"id": 2, "question_id": 2, "answer": "no"},
        ],
    }
    for kind, rows in tables.items():
        (tmp_path / f"LR_split_test_{kind}.json").write_text(json.dumps({kind: rows}))
    result = READERS["rsvqa"](tmp_path)
    assert [(r.id, r.annotation.answer) for r in result.records] == [("0_q0", "yes")]
    questions = "LR_split_test_questions.json"
    assert [(Path(s.file).name.split("_")[-1], s.line, s.reason) for s in result.skipped] == [
        ("images.json", None, "images[1]: id None is not a whole number"),
        ("images.json", None, "images[2]: id 1.5 is not a whole number"),
        ("questions.json", None, "questions[1]: id '1' is not a whole number"),
        ("images.json", None, f"images[0]: questions_ids names '1', not in {questions}"),
        ("images.json", None, f"images[0]: questions_ids names 9, not in {questions}"),
        ("answers.json", None, "answers[1]: question_id 5 is not 0, which lists it"),
        ("questions.json", None, "questions[3]: img_id 0 is not 3, which lists it"),
        ("questions.json", None, "questions[2]: no image lists id 2"),
        ("answers.json", None, "answers[2]: no question lists id 2"),
    ]
    with pytest.raises(StrictModeError, match=r"images\[1\]: id None"):
        convert("rsvqa", tmp_path, tmp_path.parent / "rsvqa_out", strict=True)


@pytest.mark.parametrize("reader", ["geochat-bench", "geochat-referring"])
def test_geochat_rows_that_are_not_objects_are_named_by_what_they_are(reader: str, tmp_path: Path) -> None:
    (tmp_path / "q.jsonl").write_text('"Airport"\n{"question_id": \n')
    result = READERS[reader](tmp_path / "q.jsonl")
    assert not result.records
    (string, broken) = [(s.line, s.reason) for s in result.skipped]
    assert string == (1, "row is a JSON str, not an object")
    assert broken[0] == 2 and broken[1].startswith("invalid JSON: ")
