"""Fuzzed sources of the readers that read XML files, per-image JSON files and class folders: real documents edited
element by element (texts replaced or emptied, elements dropped or repeated, files cut short), bad index lines,
fields of any JSON type, odd file names and image bytes. No reader raises; each bad part is a counted skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rs_data_fuzzing import FUZZ, XML_MUTATIONS, field_mutations, fuzz_read, mutated, mutated_xml

XML_SAMPLES = {
    "dior-r": "dior_r/00001.xml",
    "dior": "dior_rsvg/Annotations/00001.xml",  # DIOR's own horizontal boxes (`bndbox`)
    "hrsc2016": "hrsc2016/100000006.xml",
}


def _xml_files(bases: list[str]):
    def write(root: Path, mutations) -> Path:
        (root / "labels").mkdir()
        for index, mutation in enumerate(mutations):
            (root / "labels" / f"{index}.xml").write_text(mutated_xml(bases[index % len(bases)], mutation))
        return root / "labels"

    return write


@pytest.mark.slow
@pytest.mark.parametrize("reader", [*XML_SAMPLES, "fair1m"])
@FUZZ
@given(mutations=st.lists(XML_MUTATIONS, min_size=1, max_size=3))
def test_fuzz_xml_detection(reader: str, mutations, data_dir: Path, sources: dict[str, Path]) -> None:
    sample = sources["fair1m"] / "labelXml" / "7.xml" if reader == "fair1m" else data_dir / XML_SAMPLES[reader]
    fuzz_read(reader, _xml_files([sample.read_text()]), mutations, {"check_images": False})


@pytest.mark.slow
@FUZZ
@given(
    mutations=st.lists(XML_MUTATIONS, min_size=1, max_size=3),
    index_lines=st.lists(st.integers(-2, 4).map(str) | st.text(max_size=6), max_size=5),
)
def test_fuzz_dior_rsvg(mutations, index_lines, data_dir: Path) -> None:
    base = (data_dir / "dior_rsvg" / "Annotations" / "00001.xml").read_text()

    def write(root: Path, mutations) -> Path:
        (root / "rsvg").mkdir()
        (root / "rsvg" / "test.txt").write_text("\n".join(index_lines), encoding="utf-8", errors="surrogatepass")
        _xml_files([base])(root / "rsvg", mutations).rename(root / "rsvg" / "Annotations")
        return root / "rsvg"

    fuzz_read("dior-rsvg", write, mutations, {"split": "test", "check_images": False})


VRS_FILE_KEYS = ["image", "caption", "objects", "qa_pairs"]
VRS_OBJECT_KEYS = ["obj_id", "obj_cls", "referring_sentence", "obj_corner", "obj_coord", "is_unique"]
VRS_QA_KEYS = ["ques_id", "question", "answer", "type"]


@pytest.mark.slow
@FUZZ
@given(
    files=field_mutations(VRS_FILE_KEYS),
    objects=st.lists(field_mutations(VRS_OBJECT_KEYS), max_size=2),
    questions=st.lists(field_mutations(VRS_QA_KEYS), max_size=2),
)
def test_fuzz_vrsbench(files, objects, questions, sources: dict[str, Path]) -> None:
    real = json.loads((sources["vrsbench"] / "P0003_0002.json").read_text())
    good_object, good_qa = real["objects"][0], real["qa_pairs"][0]

    def write(root: Path, entries) -> Path:
        (root / "vrs").mkdir()
        (root / "a.png").rename(root / "vrs" / "a.png")
        for index, entry in enumerate(entries):
            (root / "vrs" / f"{index}.json").write_text(json.dumps(entry))
        return root / "vrs"

    base = {
        **real,
        "image": "a.png",
        "objects": [mutated(good_object, m) for ms in objects for m in ms] or [good_object],
        "qa_pairs": [mutated(good_qa, m) for ms in questions for m in ms] or [good_qa],
    }
    fuzz_read("vrsbench", write, [mutated(base, m) for m in files] or [base])


NAMES = st.text(alphabet="abcXYZ019 _-.é", min_size=1, max_size=6).filter(lambda name: name not in (".", ".."))
IMAGE_BYTES = st.sampled_from(["png", "empty", "garbage"])


@pytest.mark.slow
@FUZZ
@given(
    st.lists(st.tuples(NAMES, NAMES, st.sampled_from([".png", ".jpg", ".tif", ".txt"]), IMAGE_BYTES), max_size=5),
    st.none() | st.lists(st.text(max_size=12) | NAMES, max_size=5),
)
def test_fuzz_class_folders(images, split_lines) -> None:
    def write(root: Path, entries) -> Path:
        for folder, name, suffix, kind in entries:
            path = root / "classes" / folder / f"{name}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "png":
                Image.new("RGB", (8, 6)).save(path, format="PNG")
            else:
                path.write_bytes(b"" if kind == "empty" else b"\x89PNG\r\n not really")
        (root / "classes" / "a").mkdir(parents=True, exist_ok=True)
        if split_lines is not None:
            (root / "split.txt").write_bytes("\n".join(split_lines).encode("utf-8", "surrogatepass") + b"\n\xff\n")
        return root / "classes"

    options = (lambda root: {"split_file": root / "split.txt"}) if split_lines is not None else None
    fuzz_read("classification", write, images, options)
