"""LRS-VQA scoring over Debian's offline WordNet 3.0 and rows of the real benchmark file."""

import json
from pathlib import Path

import pytest
from rscovlm_eval.metrics.lrs_vqa import evaluate_lrs_vqa, lrs_correct, source_of
from rscovlm_eval.metrics.wordnet import LEXNAMES, WordNetMissingError, lexnames_text, prepare_wordnet

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def rows():
    with (DATA / "lrs_vqa" / "LRS_VQA_sample300.jsonl").open() as handle:
        return [json.loads(line) for line in handle]


def test_lexnames_has_the_45_numbered_lexicographer_files():
    lines = lexnames_text().splitlines()
    assert len(lines) == len(LEXNAMES) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1" and lines[44] == "44\tadj.ppl\t3"
    assert lines[29] == "29\tverb.body\t2"


def test_missing_wordnet_names_the_debian_packages(tmp_path):
    with pytest.raises(WordNetMissingError, match=r"wordnet-base.*wordnet-sense-index"):
        prepare_wordnet(tmp_path / "nowhere", tmp_path / "cache")


@pytest.mark.parametrize(
    ("prediction", "answer", "correct"),
    [
        ("Urban", "urban", True),  # case-insensitive exact match
        ("urban.", "urban", False),  # no stripping of punctuation, as the official scorer
        ("gray", "grey", True),  # same synset: path similarity 1
        ("automobile", "car", True),
        ("rural", "urban", False),
        ("two", "2", True),  # WordNet knows the numeral
        ("3", "2", False),
    ],
)
def test_official_rule(prediction, answer, correct):
    assert lrs_correct(prediction, answer) is correct


def test_per_source_and_category_on_real_rows(rows):
    answers = [r["ground_truth"] for r in rows]
    categories = [r["category"] for r in rows]
    ids = [r["question_id"] for r in rows]
    perfect = evaluate_lrs_vqa(answers, answers, categories, ids)
    assert perfect.accuracy == 1.0 and perfect.count == 300
    assert set(perfect.per_source) <= {"FAIR", "STAR", "GLH-Bridge"}
    assert sum(v.count for v in perfect.per_category.values()) == 300
    wrong_rural = ["urban" if a == "rural" else a for a in answers]
    result = evaluate_lrs_vqa(wrong_rural, answers, categories, ids)
    n_rural = answers.count("rural")
    assert result.accuracy == pytest.approx((300 - n_rural) / 300)
    rural_rows = [r for r in rows if r["category"] == "rural or urban"]
    expected = sum(r["ground_truth"] != "rural" for r in rural_rows) / len(rural_rows)
    assert result.per_category["rural or urban"].accuracy == pytest.approx(expected)


def test_source_from_question_id():
    assert source_of("GLH-Bridge_381") == "GLH-Bridge"
    assert source_of("FAIR_1236") == "FAIR"
    assert source_of("STAR_1999") == "STAR"
    assert source_of("other_1") == "other"
