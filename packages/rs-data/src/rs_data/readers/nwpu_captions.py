"""NWPU-Captions JSON (`dataset_nwpu.json`): `{class: [{"filename", "split", "imgid", "raw", "raw_1" .. "raw_4",
"sentids", "sentids_1" ..}]}`, images under `NWPU_images/<class>/<filename>`; one captioning record per image with
its five sentences."""

from __future__ import annotations

from pathlib import Path

from rs_data.readers import captions
from rs_data.readers._common import ImageIndex, Reader, ReadResult, load_json
from rs_data.readers.captions import CaptionContext

SENTENCE_KEYS = ("raw", "raw_1", "raw_2", "raw_3", "raw_4")


def prepare(
    src: Path, images: str | Path | None = None, split: str | None = None, dataset: str = "nwpu-captions"
) -> tuple[CaptionContext, list[tuple[str, dict]]]:
    """`src` is the JSON; `split` keeps only that split; images under `images` (default: the file's folder)."""
    data = load_json(src)
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{src}: expected an object of per-class lists (NWPU-Captions format)")
    units = [
        (f"{name}[{i}]", entry)
        for name, entries in data.items()
        for i, entry in enumerate(entries)
        if split is None or (isinstance(entry, dict) and entry.get("split") == split)
    ]
    image_dir = Path(images) if images else src.parent
    return CaptionContext(dataset, str(src), ImageIndex(image_dir), split), units


def read_unit(context: CaptionContext, unit: tuple[str, dict]) -> ReadResult:
    """The entry in Karpathy form (`class/filename`, its sentences), read by the caption reader."""
    where, entry = unit
    if not isinstance(entry, dict):
        entry = {}
    category = where.rsplit("[", 1)[0]
    karpathy = {
        "filename": f"{category}/{entry['filename']}" if entry.get("filename") else None,
        "split": entry.get("split"),
        "imgid": entry.get("imgid"),
        "sentences": [{"raw": entry[k]} for k in SENTENCE_KEYS if isinstance(entry.get(k), str)],
    }
    result = captions.read_unit(context, (where, karpathy))
    for record in result.records:
        record.meta["class"] = category
    return result


READER = Reader("nwpu-captions", "NWPU-Captions JSON (per-class lists, five sentences per image)", prepare, read_unit)
