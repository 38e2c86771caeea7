"""Captioning scores come from pycocoevalcap itself; these cases are checked by hand against its definitions."""

import pytest
from rscovlm_eval.metrics import captioning
from rscovlm_eval.metrics.captioning import METRIC_NAMES, JavaMissingError, evaluate_captions, rouge_1

REFERENCES = {"1": ["a small red car"], "2": ["two big white planes"]}


@pytest.mark.slow  # Java: the PTB tokenizer and METEOR
def test_partial_overlap_hand_computed():
    scores = evaluate_captions(REFERENCES, {"1": "A small blue boat", "2": "three big white planes."})
    assert list(scores) == list(METRIC_NAMES)
    # PTB tokenisation lower-cases and drops the final period. Corpus BLEU over 8 hypothesis words:
    # unigrams 5/8, bigrams 3/6, trigrams 1/4, 4-grams 0/2; equal lengths so no brevity penalty.
    assert scores["BLEU-1"] == pytest.approx(5 / 8)
    assert scores["BLEU-2"] == pytest.approx((5 / 8 * 3 / 6) ** 0.5)
    assert scores["BLEU-3"] == pytest.approx((5 / 8 * 3 / 6 * 1 / 4) ** (1 / 3))
    assert scores["BLEU-4"] < 1e-3
    # ROUGE-L per image: LCS 2 of 4 words -> 0.5, LCS 3 of 4 -> 0.75 (P = R, so F = P for any beta); mean 0.625
    assert scores["ROUGE-L"] == pytest.approx(0.625)
    assert scores["ROUGE-1"] == pytest.approx((0.5 + 0.75) / 2)  # unigram overlaps 2 of 4 and 3 of 4 words
    assert 0 < scores["METEOR"] < 1
    assert 0 < scores["CIDEr"] < 10


@pytest.mark.slow
def test_identical_and_disjoint_captions():
    perfect = evaluate_captions(REFERENCES, {"1": "a small red car", "2": "two big white planes"})
    for name in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L"):
        assert perfect[name] == pytest.approx(1.0)
    # CIDEr-D: each n-gram occurs in one of two images (idf log 2), cosine 1 for n = 1..4, no length penalty,
    # times 10 -> exactly 10.
    assert perfect["CIDEr"] == pytest.approx(10.0)
    nothing = evaluate_captions(REFERENCES, {"1": "", "2": "zebra"})
    assert nothing["METEOR"] == 0.0 and nothing["ROUGE-L"] == 0.0 and nothing["CIDEr"] == 0.0


def test_rouge_1_hand_computed():
    assert rouge_1("a small blue boat", ["a small red car"]) == 0.5  # P = R = 2/4
    # clipped counts: "the" is matched once; P = 1/3, R = 1/2, F1 = 2 * (1/6) / (5/6) = 0.4
    assert rouge_1("the the the", ["the cat"]) == pytest.approx(0.4)
    assert rouge_1("a red car", ["a plane", "a red car parked"]) == pytest.approx(2 * 1 * 0.75 / 1.75)  # the best
    assert rouge_1("", ["a car"]) == 0.0


def test_mismatched_ids_are_an_error():
    with pytest.raises(ValueError, match="different ids"):
        evaluate_captions(REFERENCES, {"1": "a car"})


def test_missing_java_names_the_package(monkeypatch):
    monkeypatch.setattr(captioning.shutil, "which", lambda name: None)
    with pytest.raises(JavaMissingError, match="default-jre-headless"):
        evaluate_captions(REFERENCES, {"1": "a car", "2": "a plane"})
