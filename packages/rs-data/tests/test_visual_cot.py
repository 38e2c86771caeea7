"""Upstream's visual-CoT LRS-VQA-Zoom training files (open-ended and multiple-choice), real LRS-VQA questions."""

from __future__ import annotations

from pathlib import Path

from rs_data.readers import READERS
from rs_data.readers.visual_cot import multiple_choice_question


def test_open_ended_file(data_dir: Path) -> None:
    result = READERS["visual-cot"](data_dir / "visual_cot" / "openended_small.json", check_images=False)
    zoom, compare = result.records
    assert (zoom.id, zoom.task, zoom.annotation.answer) == ("GLH-Bridge_381", "uhr_vqa", "blue")
    assert zoom.meta == {"crop_hbox": [[1953.0, 5023.0, 2149.0, 5122.0]], "variant": "open", "image_size": [8192, 8192]}
    assert zoom.annotation.evidence == [[1953.0, 5023.0, 2149.0, 5023.0, 2149.0, 5122.0, 1953.0, 5122.0]]
    assert (zoom.images[0].width, zoom.images[0].height) == (8192, 8192)
    # upstream's private path prefix does not matter: the image is expected under the images folder by its path
    assert zoom.images[0].path.endswith("LRS_VQA/image/test-704.png")
    assert len(compare.meta["crop_hbox"]) == 2 and compare.annotation.question_type == "object spatial relationship"
    first, second = result.skipped
    assert first.line is None and first.reason.startswith("entry 2: crop box [10, 10, 5, 20]")
    assert second.reason.startswith("entry 3: needs 'question' and 'answer'")


def test_multiple_choice_file(data_dir: Path) -> None:
    result = READERS["visual-cot"](data_dir / "visual_cot" / "mcq_small.json", check_images=False)
    (record,) = result.records
    ann = record.annotation
    assert (ann.answer, ann.choices[1], record.meta["variant"]) == ("B", "(B) river", "mc")
    assert ann.question == (
        "What type of water body is the right-most bridge spanning over? The choices are listed below: \n"
        "(A) lake\n(B) river\n(C) sea\n(D) canal\n(E) pond\n"
        "Select the best answer to the above multiple-choice question based on the image. Respond with only the "
        "letter (A, B, C, D, or E) of the correct option.\nThe best answer is:"
    )
    (skip,) = result.skipped
    assert "ground truth 'F' is not one of the choice letters" in skip.reason


def test_short_answer_sentence_is_removed_not_stripped_as_characters() -> None:
    # upstream's rstrip() of the sentence removes characters, so "...the car" would lose its final "r"
    text = "What colour is the car\n Answer the question using a single word or phrase."
    assert multiple_choice_question(text, ["(A) red", "(B) blue"]).startswith("What colour is the car The choices")


def test_images_are_checked_when_asked(data_dir: Path) -> None:
    result = READERS["visual-cot"](data_dir / "visual_cot" / "openended_small.json")
    assert not result.records
    assert sum("image not found" in s.reason for s in result.skipped) == 2
