"""TEOChatlas evaluation files (`eval/*.json` of TEOChatlas), LLaVA-style lists as upstream RSCoVLM reads them:
`video` (the frame paths, `TEOChatlas/eval/` prefixed), `conversations` (a human question with a `<video>` tag and
the gpt answer; a turn without `from` is taken in human, gpt order), `task` and `dataset`.

Single-frame items (the GeoChat subset: AID, UCMerced, LRBEN, HRBEN) become VQA records, the question without
its "This is a satellite image: <video>" lead, `question_type` the item's task and `meta["dataset"]` its data set.
Multi-frame (temporal) items are skipped with the reason: they need multi-image prompts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rs_data.readers._common import Reader, ReadResult
from rs_data.readers._json_lists import JsonListContext, add_vqa_record, prepare_json_lists
from rs_data.schema import Skipped

_LEAD = re.compile(r"^\s*(This is a satellite image:\s*)?<video>\s*")
_PREFIX = "TEOChatlas/eval/"


def prepare(
    src: Path, files: list[str] | None = None, images: str | Path | None = None, dataset: str = "teochatlas"
) -> tuple[JsonListContext, list[tuple[Path, int, Any]]]:
    """`src` is TEOChatlas' `eval` folder (with `files`) or one file; frames under `images` (default: that folder)."""
    return prepare_json_lists(src, files, images, dataset)


def _turns(item: dict) -> tuple[str, str]:
    human, gpt = item["conversations"]
    if human.get("from", "human") != "human" or gpt.get("from", "gpt") != "gpt":
        raise ValueError("conversations must be one human turn and one gpt turn")
    return _LEAD.sub("", human["value"]).strip(), str(gpt["value"])


def read_unit(context: JsonListContext, unit: tuple[Path, int, Any]) -> ReadResult:
    path, index, item = unit
    result = ReadResult()
    where = f"item {index}"
    try:
        frames = [str(f).removeprefix(_PREFIX) for f in item["video"]]
        question, answer = _turns(item)
        task = str(item["task"])
    except (KeyError, TypeError, ValueError) as error:
        result.skipped.append(Skipped(str(path), None, f"{where}: malformed ({error!r})"))
        return result
    if len(frames) != 1:
        result.skipped.append(Skipped(str(path), None, f"{where}: {len(frames)} frames (temporal): not a VQA sample"))
        return result
    add_vqa_record(
        result, context, unit, frames[0], question, answer, task, {"dataset": item.get("dataset", path.stem)}
    )
    return result


READER = Reader("teochat-eval", "TEOChatlas evaluation JSON (single-frame items)", prepare, read_unit)
