"""Karpathy-format caption JSON (UCM-captions, Sydney-captions, RSICD): `{"images": [{"filename", "split",
"sentences": [{"raw"}]}]}`; one captioning record per image with all its sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rs_data.readers._common import ImageIndex, Reader, ReadResult, image_ref, load_json, object_or_skip
from rs_data.schema import CaptionAnnotation, Record, Skipped


@dataclass(frozen=True)
class CaptionContext:
    dataset: str
    source: str
    images: ImageIndex
    split: str | None


def prepare(
    src: Path, images: str | Path | None = None, split: str | None = None, dataset: str = "captions"
) -> tuple[CaptionContext, list[tuple[int, dict]]]:
    """`src` is the JSON; `split` keeps only that split (train / val / test); images under `images`."""
    data = load_json(src)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(f"{src}: expected an object with an 'images' list (Karpathy format)")
    units = list(enumerate(data["images"]))
    image_dir = Path(images) if images else src.parent
    return CaptionContext(dataset, str(src), ImageIndex(image_dir), split), units


def read_unit(context: CaptionContext, unit: tuple[int | str, dict]) -> ReadResult:
    index, entry = unit
    result = ReadResult()
    where = index if isinstance(index, str) else f"images[{index}]"
    entry = object_or_skip(entry, where, context.source, None, result.skipped)
    if entry is None:
        return result
    if context.split is not None and entry.get("split") != context.split:
        return result
    filename = entry.get("filename")
    sentences = entry.get("sentences")
    raws = [s.get("raw") for s in sentences if isinstance(s, dict)] if isinstance(sentences, list) else []
    captions = [raw.strip() for raw in raws if isinstance(raw, str) and raw.strip()]
    if not isinstance(filename, str) or not filename or not captions:
        result.skipped.append(Skipped(context.source, None, f"{where}: needs a filename and at least one sentence"))
        return result
    image = image_ref(context.images.find(filename), context.source, None, result.skipped, name=filename)
    if image is not None:
        result.records.append(
            Record(
                id=Path(filename).stem,
                dataset=context.dataset,
                task="captioning",
                images=[image],
                annotation=CaptionAnnotation(captions=captions),
                split=entry.get("split"),
                meta={"imgid": entry.get("imgid")},
            )
        )
    return result


READER = Reader("captions", "Karpathy-format caption JSON (UCM-captions, Sydney-captions, RSICD)", prepare, read_unit)
