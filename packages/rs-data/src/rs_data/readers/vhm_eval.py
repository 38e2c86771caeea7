"""VHM-Eval (the evaluation data of VHM, `datasets_eval/*.json` of FitzPC/VHM_eval_dataset), one suite a file.

Each file is a JSON list of LLaVA-style items: `image` (file name), `image_path` (its folder under
`datasets_eval`), `conversations` (a human question and the gpt answer). `files` names the suite files to read
(e.g. `presence_mo_dota.json`); each item becomes a VQA record whose `question_type` is the suite (the file's stem).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rs_data.readers._common import Reader, ReadResult
from rs_data.readers._json_lists import JsonListContext, add_vqa_record, prepare_json_lists
from rs_data.schema import Skipped


def prepare(
    src: Path, files: list[str] | None = None, images: str | Path | None = None, dataset: str = "vhm-eval"
) -> tuple[JsonListContext, list[tuple[Path, int, Any]]]:
    """`src` is the `datasets_eval` folder (with `files`) or one suite file; images under `images` (default: that
    folder)."""
    return prepare_json_lists(src, files, images, dataset)


def _question_answer(item: Any) -> tuple[str, str]:
    human, gpt = item["conversations"]
    if human["from"] != "human" or gpt["from"] != "gpt":
        raise ValueError("conversations must be one human turn and one gpt turn")
    return human["value"].replace("<image>", "").strip(), str(gpt["value"])


def read_unit(context: JsonListContext, unit: tuple[Path, int, Any]) -> ReadResult:
    path, index, item = unit
    result = ReadResult()
    try:
        question, answer = _question_answer(item)
        name = Path(item["image_path"]) / item["image"]
    except (KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(str(path), None, f"item {index}: malformed ({error!r})"))
        return result
    add_vqa_record(result, context, unit, str(name), question, answer, path.stem)
    return result


READER = Reader("vhm-eval", "VHM-Eval suite files (LLaVA-style JSON lists under datasets_eval)", prepare, read_unit)
