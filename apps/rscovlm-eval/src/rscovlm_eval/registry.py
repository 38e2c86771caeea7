"""The benchmark registry: every benchmark's task, reader, metric and the data it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Metric = Literal["classification", "captioning", "vqa", "grounding", "detection", "lrs_vqa", "multiple_choice"]


@dataclass(frozen=True)
class Benchmark:
    """A public benchmark: how to read it and how to score it."""

    name: str
    task: str
    metric: Metric
    reader: str
    expects: str
    reader_options: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    classes: str | None = None
    zoom: bool = False
    export_only: bool = False  # no ground truth (a test split): predictions are exported, not scored


def _classification(name: str, title: str) -> Benchmark:
    return Benchmark(
        name,
        "classification",
        "classification",
        "scene-folders",
        f"{title}: a folder with one sub-folder of images per scene class (the data set's own layout)",
    )


def _karpathy(name: str, title: str) -> Benchmark:
    return Benchmark(
        name,
        "captioning",
        "captioning",
        "karpathy-captions",
        f"{title}: the Karpathy-split JSON (dataset_*.json; the test split is used) and its image folder (`images`)",
        split="test",
    )


def _detection(name: str, reader: str, classes: str, expects: str, **kwargs: Any) -> Benchmark:
    return Benchmark(name, "detection", "detection", reader, expects, classes=classes, **kwargs)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        _classification("aid", "AID"),
        _classification("ucmerced", "UC Merced Land Use"),
        _classification("nwpu-resisc45", "NWPU-RESISC45"),
        _classification("whu-rs19", "WHU-RS19"),
        _karpathy("ucm-captions", "UCM-captions"),
        _karpathy("sydney-captions", "Sydney-captions"),
        _karpathy("rsicd", "RSICD"),
        Benchmark(
            "nwpu-captions",
            "captioning",
            "captioning",
            "nwpu-captions",
            "NWPU-Captions: dataset_nwpu.json and the image folder (`images`); the test split is used",
            split="test",
        ),
        Benchmark(
            "vrsbench-cap",
            "captioning",
            "captioning",
            "vrsbench",
            "VRSBench: the evaluation JSON (per-image `caption`) and its image folder (`images`)",
            reader_options={"tasks": ["captioning"]},
        ),
        Benchmark(
            "rsvqa-lr",
            "vqa",
            "vqa",
            "rsvqa",
            "RSVQA-LR: the folder with *_split_questions/answers/images.json and the image folder (`images`)",
            split="test",
        ),
        Benchmark(
            "rsvqa-hr",
            "vqa",
            "vqa",
            "rsvqa",
            "RSVQA-HR: the folder with *_split_questions/answers/images.json and the image folder (`images`)",
            split="test",
        ),
        Benchmark(
            "vrsbench-vqa",
            "vqa",
            "vqa",
            "vrsbench",
            "VRSBench: the evaluation JSON (per-image `qa_pairs`) and its image folder (`images`)",
            reader_options={"tasks": ["vqa"]},
        ),
        Benchmark(
            "dior-rsvg",
            "grounding",
            "grounding",
            "dior-rsvg",
            "DIOR-RSVG: the Annotations folder of XML files (bndbox + description), JPEGImages (`images`)",
        ),
        Benchmark(
            "vrsbench-ref",
            "grounding",
            "grounding",
            "vrsbench",
            "VRSBench: the evaluation JSON (per-image `objects` with referring sentences) and images (`images`)",
            reader_options={"tasks": ["grounding"]},
        ),
        _detection("dota1.0", "dota", "dota1.0", "DOTA-v1.0 val: labelTxt folder (or split patches) and images"),
        _detection(
            "dota1.0-test",
            "dota-images",
            "dota1.0",
            "DOTA-v1.0 test: the (split) image folder; patch answers are merged and written as a Task1 submission",
            export_only=True,
        ),
        _detection("dior-r", "dior-r", "dior-r", "DIOR-R: the Oriented Bounding Boxes XML folder and JPEGImages"),
        _detection("fair1m", "fair1m", "fair1m", "FAIR1M 1.0/2.0: the labelXml folder and images"),
        _detection("hrsc2016", "hrsc2016", "hrsc", "HRSC2016: the Annotations XML folder and AllImages"),
        Benchmark(
            "lrs-vqa",
            "uhr_vqa",
            "lrs_vqa",
            "lrs-vqa",
            "LRS-VQA: LRS_VQA_merged.jsonl and its image folder (`images`); set `zoom: true` for the Zoom-in Chain",
        ),
        Benchmark(
            "mme-realworld-rs",
            "uhr_vqa",
            "multiple_choice",
            "mme-realworld",
            "MME-RealWorld: its JSON (remote-sensing subset is kept) and the image folder (`images`)",
            reader_options={"subtask": "Remote Sensing"},
        ),
    ]
}


class UnknownBenchmarkError(KeyError):
    def __str__(self) -> str:
        return f"unknown benchmark {self.args[0]!r}; known: {', '.join(BENCHMARKS)}"


def get_benchmark(name: str) -> Benchmark:
    """The registered benchmark called `name` (raises UnknownBenchmarkError listing the known ones)."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise UnknownBenchmarkError(name) from None
