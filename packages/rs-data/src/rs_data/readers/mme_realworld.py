"""MME-RealWorld's JSON list of multiple-choice questions, one subtask kept (default: Remote Sensing).

Each row: `Question_id`, `Image` (relative to the image folder), `Text`, `Answer choices` (`"(A) ..."`),
`Ground truth` (a letter), `Category`, `Subtask`, `Task`. The question is shown with its lettered choices and
MME-RealWorld's answer instruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import Reader, ReadResult, image_ref, load_json
from rs_data.schema import Record, Skipped, VQAAnnotation

REMOTE_SENSING = "Remote Sensing"
MME_INSTRUCTION = (
    "Select the best answer to the above multiple-choice question based on the image. "
    "Respond with only the letter (A, B, C, D, or E) of the correct option."
)


@dataclass(frozen=True)
class MmeContext:
    dataset: str
    source: str
    images: Path
    subtask: str


def prepare(
    src: Path, images: str | Path | None = None, subtask: str = REMOTE_SENSING, dataset: str = "mme-realworld"
) -> tuple[MmeContext, list[tuple[int, object]]]:
    """`src` is the JSON list; images under `images` (default: the file's folder)."""
    rows = load_json(src)
    if not isinstance(rows, list):
        raise ValueError(f"{src}: expected a JSON list of questions")
    root = Path(images) if images is not None else src.parent
    units = [(n, r) for n, r in enumerate(rows, start=1) if not isinstance(r, dict) or r.get("Subtask") == subtask]
    return MmeContext(dataset, str(src), root, subtask), units


def read_unit(context: MmeContext, unit: tuple[int, object]) -> ReadResult:
    number, row = unit
    result = ReadResult()
    try:
        choices = [str(c) for c in row["Answer choices"]]
        annotation = VQAAnnotation(
            question="\n".join([row["Text"], *choices, MME_INSTRUCTION]),
            answer=str(row["Ground truth"]),
            question_type=row["Category"],
            choices=choices,
        )
        qid, name = str(row["Question_id"]), row["Image"]
    except (KeyError, TypeError) as error:
        result.skipped.append(Skipped(context.source, None, f"question {number}: missing or malformed {error}"))
        return result
    path = context.images / name
    image = image_ref(path if path.is_file() else None, context.source, None, result.skipped, name=name)
    if image is not None:
        meta = {"task": row.get("Task"), "subtask": context.subtask}
        result.records.append(
            Record(id=qid, dataset=context.dataset, task="uhr_vqa", images=[image], annotation=annotation, meta=meta)
        )
    return result


READER = Reader("mme-realworld", "MME-RealWorld multiple-choice JSON, one subtask (Remote Sensing)", prepare, read_unit)
