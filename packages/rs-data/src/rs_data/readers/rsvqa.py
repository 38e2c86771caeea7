"""RSVQA LR / HR: three JSON files per split (`*_images.json`, `*_questions.json`, `*_answers.json`) joined by ids.

Images `{"images": [{"id", "questions_ids", "active"?}]}`, questions `{"questions": [{"id", "img_id", "type",
"question", "answers_ids", "active"?}]}`, answers `{"answers": [{"id", "question_id", "answer"}]}`; the image file
is `{id}.tif` under `images`. Entries marked `"active": false` are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import MALFORMED_ENTRY_ERRORS, ImageIndex, Reader, ReadResult, image_ref, load_json
from rs_data.schema import Record, Skipped, VQAAnnotation


@dataclass(frozen=True)
class RSVQAContext:
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


def _split_files(src: Path, prefix: str | None) -> tuple[Path, Path, Path]:
    if prefix is None:
        prefixes = sorted({p.name[: -len("_questions.json")] for p in src.glob("*_questions.json")})
        if len(prefixes) != 1:
            raise ValueError(f"{src}: found question files {prefixes}; pass prefix= to choose one")
        prefix = prefixes[0]
    files = tuple(src / f"{prefix}_{kind}.json" for kind in ("images", "questions", "answers"))
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{file}: missing RSVQA file")
    return files  # type: ignore[return-value]


def prepare(
    src: Path,
    prefix: str | None = None,
    images: str | Path | None = None,
    split: str | None = None,
    dataset: str = "rsvqa",
) -> tuple[RSVQAContext, list[tuple[dict, list[tuple[dict, list[dict]]] | str]]]:
    """`src` holds `{prefix}_images.json` etc. (e.g. prefix `LR_split_train`); images under `images`."""
    images_file, questions_file, answers_file = _split_files(src, prefix)
    try:
        image_list = load_json(images_file)["images"]
        questions = {q["id"]: q for q in load_json(questions_file)["questions"]}
        answers = {a["id"]: a for a in load_json(answers_file)["answers"]}
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{src}: RSVQA files need 'images' / 'questions' / 'answers' lists with ids ({error!r})"
        ) from error
    units = []
    for index, image in enumerate(image_list):
        try:
            units += _joined(image, questions, answers, questions_file.name)
        except MALFORMED_ENTRY_ERRORS as error:
            units.append(({}, f"image entry {index}: malformed ({type(error).__name__}: {error})"))
    image_dir = Path(images) if images else src
    return RSVQAContext(dataset, str(questions_file), ImageIndex(image_dir), split), units


def _joined(image: dict, questions: dict, answers: dict, questions_name: str) -> list[tuple[dict, list | str]]:
    """The units of one image: its questions with their answers, and one reason for each question id not found."""
    units: list[tuple[dict, list | str]] = []
    joined = []
    for qid in image.get("questions_ids", []):
        question = questions.get(qid)
        if question is None:
            units.append((image, f"question id {qid} is not in {questions_name}"))
            continue
        found = [answers[a] for a in question.get("answers_ids", []) if a in answers]
        joined.append((question, found))
    return [*units, (image, joined)]


def read_unit(context: RSVQAContext, unit: tuple[dict, list[tuple[dict, list[dict]]] | str]) -> ReadResult:
    image_info, joined = unit
    result = ReadResult()
    source = context.source
    if isinstance(joined, str):
        result.skipped.append(Skipped(source, None, joined))
        return result
    if image_info.get("active") is False:
        result.skipped.append(
            Skipped(source, None, f"image {image_info.get('id')}: inactive ({len(joined)} questions)")
        )
        return result
    name = str(image_info.get("id"))
    image = image_ref(context.images.find(name), source, None, result.skipped, name=name)
    if image is None:
        return result
    for question, answers in joined:
        where = f"question {question.get('id')}"
        active = [a for a in answers if a.get("active", True)]
        if question.get("active") is False or not active:
            result.skipped.append(Skipped(source, None, f"{where}: inactive or without an answer"))
            continue
        annotation = VQAAnnotation(
            question=question["question"], answer=str(active[0]["answer"]), question_type=question.get("type")
        )
        result.records.append(
            Record(
                id=f"{name}_q{question['id']}",
                dataset=context.dataset,
                task="vqa",
                images=[image],
                annotation=annotation,
                split=context.split,
            )
        )
    return result


READER = Reader("rsvqa", "RSVQA LR/HR (images, questions and answers JSON joined by ids)", prepare, read_unit)
