"""RSVQA LR / HR: three JSON files per split (`*_images.json`, `*_questions.json`, `*_answers.json`) joined by ids.

Images `{"images": [{"id", "questions_ids", "active"?}]}`, questions `{"questions": [{"id", "img_id", "type",
"question", "answers_ids", "active"?}]}`, answers `{"answers": [{"id", "question_id", "answer"}]}`; the image file
is `{id}.tif` under `images`. Entries marked `"active": false` are skipped and counted. A row whose id is missing,
not a whole number or repeated, and a reference that names no row or a row that does not point back (an image's
question whose `img_id` is another image, a question's answer whose `question_id` is another question) is skipped
and counted with its file and row (`questions[12]`); so is a question or answer that no row refers to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rs_data.readers._common import ImageIndex, Reader, ReadResult, guarded, image_ref, load_json
from rs_data.schema import ImageRef, Record, Skipped, VQAAnnotation

KINDS = ("images", "questions", "answers")


@dataclass(frozen=True)
class RSVQAContext:
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


@dataclass(frozen=True)
class Table:
    """The usable rows of one RSVQA file by id, each with its index in the file's list."""

    path: Path
    kind: str
    rows: dict[int, tuple[int, dict]]

    def where(self, index: int) -> str:
        return f"{self.kind}[{index}]"


def _split_files(src: Path, prefix: str | None) -> tuple[Path, Path, Path]:
    if prefix is None:
        prefixes = sorted({p.name[: -len("_questions.json")] for p in src.glob("*_questions.json")})
        if len(prefixes) != 1:
            raise ValueError(f"{src}: found question files {prefixes}; pass prefix= to choose one")
        prefix = prefixes[0]
    files = tuple(src / f"{prefix}_{kind}.json" for kind in KINDS)
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{file}: missing RSVQA file")
    return files  # type: ignore[return-value]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _table(path: Path, kind: str, skipped: list[Skipped]) -> Table:
    """The rows of `path` with a usable id; each other row reported. A file that is not `{kind: [...]}` is refused."""
    data = load_json(path)
    rows = data.get(kind) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: RSVQA files need an object with a {kind!r} list")
    table = Table(path, kind, {})
    for index, row in enumerate(rows):
        where = table.where(index)
        if not isinstance(row, dict):
            skipped.append(Skipped(str(path), None, f"{where} is a JSON {type(row).__name__}, not an object"))
        elif not _is_id(row.get("id")):
            skipped.append(Skipped(str(path), None, f"{where}: id {row.get('id')!r} is not a whole number"))
        elif row["id"] in table.rows:
            first = table.where(table.rows[row["id"]][0])
            skipped.append(Skipped(str(path), None, f"{where}: id {row['id']} repeats {first}"))
        else:
            table.rows[row["id"]] = (index, row)
    return table


def _references(owner: Table, index: int, row: dict, key: str, target: Table, skipped: list[Skipped]) -> list[int]:
    """The ids `row[key]` lists that name a row of `target`; each other one reported against the owner's row."""
    ids = row.get(key, [])
    where = owner.where(index)
    if not isinstance(ids, list):
        skipped.append(Skipped(str(owner.path), None, f"{where}: {key} {ids!r:.40} is not a list"))
        return []
    found = [i for i in ids if _is_id(i) and i in target.rows]
    for missing in (i for i in ids if not (_is_id(i) and i in target.rows)):
        reason = f"{where}: {key} names {missing!r:.40}, not in {target.path.name}"
        skipped.append(Skipped(str(owner.path), None, reason))
    return found


def _points_back(row_table: Table, row_id: int, key: str, owner_id: int, skipped: list[Skipped]) -> bool:
    """Whether the row `row_id` names `owner_id` in `key` (reported when not)."""
    index, row = row_table.rows[row_id]
    if row.get(key) == owner_id and _is_id(row.get(key)):
        return True
    reason = f"{row_table.where(index)}: {key} {row.get(key)!r:.40} is not {owner_id}, which lists it"
    skipped.append(Skipped(str(row_table.path), None, reason))
    return False


def prepare(
    src: Path,
    prefix: str | None = None,
    images: str | Path | None = None,
    split: str | None = None,
    dataset: str = "rsvqa",
) -> tuple[RSVQAContext, list[tuple[dict, list[tuple[dict, list[dict]]]] | Skipped]]:
    """`src` holds `{prefix}_images.json` etc. (e.g. prefix `LR_split_train`); images under `images`."""
    skipped: list[Skipped] = []
    image_table, questions, answers = (
        _table(path, kind, skipped) for path, kind in zip(_split_files(src, prefix), KINDS, strict=True)
    )
    units: list = []
    used: dict[str, set[int]] = {"questions": set(), "answers": set()}
    for image_id, (index, image) in image_table.rows.items():
        joined = []
        for qid in _references(image_table, index, image, "questions_ids", questions, skipped):
            used["questions"].add(qid)
            if not _points_back(questions, qid, "img_id", image_id, skipped):
                continue
            q_index, question = questions.rows[qid]
            found = []
            for aid in _references(questions, q_index, question, "answers_ids", answers, skipped):
                used["answers"].add(aid)
                if _points_back(answers, aid, "question_id", qid, skipped):
                    found.append(answers.rows[aid][1])
            joined.append((question, found))
        units.append((image, joined))
    for table, owner in ((questions, "image"), (answers, "question")):
        for row_id, (index, _row) in table.rows.items():
            if row_id not in used[table.kind]:
                skipped.append(Skipped(str(table.path), None, f"{table.where(index)}: no {owner} lists id {row_id}"))
    image_dir = Path(images) if images else src
    return RSVQAContext(dataset, str(questions.path), ImageIndex(image_dir), split), units + skipped


def read_unit(context: RSVQAContext, unit: tuple[dict, list[tuple[dict, list[dict]]]] | Skipped) -> ReadResult:
    result = ReadResult()
    if isinstance(unit, Skipped):
        result.skipped.append(unit)
        return result
    image_info, joined = unit
    source = context.source
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
        guarded(result.skipped, source, None, where, _add_question, context, image, name, question, answers, result)
    return result


def _add_question(
    context: RSVQAContext, image: ImageRef, name: str, question: dict, answers: list[dict], result: ReadResult
) -> None:
    """The record of one question with its first active answer (a skip when it is inactive or has none)."""
    active = [a for a in answers if a.get("active", True)]
    if question.get("active") is False or not active:
        result.skipped.append(
            Skipped(context.source, None, f"question {question['id']}: inactive or without an answer")
        )
        return
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


READER = Reader("rsvqa", "RSVQA LR/HR (images, questions and answers JSON joined by ids)", prepare, read_unit)
