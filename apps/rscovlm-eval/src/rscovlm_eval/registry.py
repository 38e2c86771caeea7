"""The benchmark registry: every benchmark's task, reader, metric and the data it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Metric = Literal[
    "classification",
    "captioning",
    "vqa",
    "grounding",
    "oriented_grounding",
    "multi_referring",
    "geochat_grounding",
    "vhm",
    "teochat",
    "teochat_temporal",
    "xlrs",
    "detection",
    "lrs_vqa",
    "multiple_choice",
]


# TEOChatlas' temporal evaluation files (upstream RSCoVLM's `teochatlas_temporal_files`)
TEOCHAT_TEMPORAL_FILES = (
    "ABCD.json",
    "CDVQA.json",
    "fMoW_High_Res.json",
    "fMoW_Low_Res.json",
    "QFabric_RQA2.json",
    "QFabric_RQA5_RTQA5.json",
    "QFabric_TRE_RTQA.json",
    "S2Looking_Change_Detection.json",
    "S2Looking_RQA.json",
    "S2Looking_SRE_QA.json",
    "xBD_Change_Detection_Classification.json",
    "xBD_Change_Detection_Localization.json",
    "xBD_SRE_QA_RQA.json",
)


@dataclass(frozen=True)
class Benchmark:
    """A public benchmark: how to read it (an rs-data reader and its options) and how to score it."""

    name: str
    task: str
    metric: Metric
    reader: str
    expects: str
    reader_options: dict[str, Any] = field(default_factory=dict)
    classes: str | None = None
    zoom: bool = False
    export_only: bool = False  # no ground truth (a test split): predictions are exported, not scored
    zoom_skip_categories: tuple[str, ...] = ()  # with zoom, these question categories are answered without the chain
    vqa_match: Literal["exact", "contains"] = "exact"  # VQA answer rule (see metrics.vqa)
    templates: dict[str, str] = field(default_factory=dict)  # the benchmark's own wording of rs-data's templates


def _classification(name: str, title: str) -> Benchmark:
    return Benchmark(
        name,
        "classification",
        "classification",
        "classification",
        f"{title}: a folder with one sub-folder of images per scene class; options.split_file picks the test list",
    )


def _captions(name: str, title: str) -> Benchmark:
    return Benchmark(
        name,
        "captioning",
        "captioning",
        "captions",
        f"{title}: the Karpathy-split JSON (dataset_*.json, its test split) and the image folder (`images`)",
        reader_options={"split": "test"},
    )


def _geochat(name: str, task: str, metric: Metric, kind: str, what: str) -> Benchmark:
    return Benchmark(
        name,
        task,
        metric,
        "geochat-bench",
        f"GeoChat-Bench {what}: its question JSONL and the image folder (`images`)",
        reader_options={"kind": kind},
    )


def _rsvqa(name: str, title: str, prefix: str) -> Benchmark:
    return Benchmark(
        name,
        "vqa",
        "vqa",
        "rsvqa",
        f"{title}: the folder with {prefix}_images/questions/answers.json and the image folder (`images`)",
        reader_options={"prefix": prefix},
    )


def _vrsbench(name: str, task: str, what: str, **kwargs: Any) -> Benchmark:
    return Benchmark(
        name,
        task,
        task,
        "vrsbench",
        f"VRSBench: the folder of per-image evaluation JSON ({what}) and the image folder (`images`)",
        **kwargs,
    )


def _geoground(name: str, title: str, file: str, box: str) -> Benchmark:
    return Benchmark(
        f"geoground-{name}" + ("-obb" if box == "obb" else ""),
        "grounding",
        "oriented_grounding" if box == "obb" else "grounding",
        "geoground-test",
        f"GeoGround {title} test ({box.upper()}): metainfo/{file}_test.jsonl and the set's images (`images`)"
        + ("; ask for oriented boxes (prompt.grounding_box_type: obb or poly)" if box == "obb" else ""),
        reader_options={"box": box, "dataset": f"geoground-{name}"},
    )


GEOGROUND_SETS = (("avvg", "AVVG", "avvg"), ("rsvg", "RSVG", "rsvg"), ("dior-rsvg", "DIOR-RSVG", "dior_rsvg"))
GEOGROUND_SETS += (("geochat", "GeoChat", "geochat"),)


def _vhm(name: str, what: str, files: tuple[str, ...]) -> Benchmark:
    return Benchmark(
        name,
        "vqa",
        "vhm",
        "vhm-eval",
        f"VHM-Eval {what}: the datasets_eval folder with {', '.join(files)} and their image folders",
        reader_options={"files": list(files)},
        templates={"vqa": "{question}"},  # the question as VHM-Eval words it, as upstream RSCoVLM asks it
    )


VHM_SUITES = {
    "vhm-honest": (
        "honest questions (HnstD)",
        (
            "presence_mo_dota.json",
            "color_dota-test_fair1m-val_open.json",
            "abspos_dota-test_mc.json",
            "relpos_dota-test_mc.json",
        ),
    ),
    "vhm-open-ended": (
        "open-ended questions",
        ("counting_dota-test_open.json", "imgType_mcq.json", "gsd_dota_fbp.json", "obj_meas_dota_test.json"),
    ),
    "vhm-scene-cls": (
        "scene classification",
        ("cls_AID.json", "cls_METER_ML.json", "cls_NWPU_RESISC45.json", "cls_SIRI_WHU.json", "cls_WHU_RS19.json"),
    ),
    "vhm-grounding": ("visual grounding", ("VG_DOIR_RSVG_test.json",)),
    "vhm-building-vectorisation": ("building vectorisation", ("bfv_crowdai_val.json",)),
    "vhm-multi-label": ("multi-label classification", ("mlc_fbp_test.json", "mlc_gid_test.json")),
    "vhm-rsvqa": (
        "RSVQA subsets",
        (
            "RSVQA_HR-comp_RSVQA.json",
            "RSVQA_HR-presence_RSVQA.json",
            "RSVQA_LR-comp_RSVQA.json",
            "RSVQA_LR-presence_RSVQA.json",
            "RSVQA_LR-rural_urban_RSVQA.json",
        ),
    ),
}


def _detection(name: str, reader: str, classes: str, expects: str, **kwargs: Any) -> Benchmark:
    return Benchmark(name, "detection", "detection", reader, expects, classes=classes, **kwargs)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        _classification("aid", "AID"),
        _classification("ucmerced", "UC Merced Land Use"),
        _classification("nwpu-resisc45", "NWPU-RESISC45"),
        _classification("whu-rs19", "WHU-RS19"),
        _classification("eurosat", "EuroSAT (RGB)"),
        _captions("ucm-captions", "UCM-captions"),
        _captions("sydney-captions", "Sydney-captions"),
        _captions("rsicd", "RSICD"),
        _captions("rsitmd", "RSITMD"),
        Benchmark(
            "nwpu-captions",
            "captioning",
            "captioning",
            "nwpu-captions",
            "NWPU-Captions: dataset_nwpu.json (its test split) and NWPU_images (`images`, a folder per class)",
            reader_options={"split": "test"},
        ),
        _vrsbench("vrsbench-cap", "captioning", "`caption`"),
        _rsvqa("rsvqa-lr", "RSVQA-LR", "LR_split_test"),
        _rsvqa("rsvqa-hr", "RSVQA-HR", "USGS_split_test"),
        _vrsbench("vrsbench-vqa", "vqa", "`qa_pairs`", vqa_match="contains"),  # upstream RSCoVLM scores by contains
        _geochat("geochat-aid", "classification", "classification", "scene", "scene classification (aid.jsonl)"),
        _geochat("geochat-ucmerced", "classification", "classification", "scene", "scene classification (UCmerced)"),
        _geochat("geochat-lrben", "vqa", "vqa", "vqa", "LRBEN VQA with `ground_truth` answers"),
        _geochat("geochat-hrben", "vqa", "vqa", "vqa", "HRBEN VQA with `ground_truth` answers"),
        Benchmark(
            "dior-rsvg",
            "grounding",
            "grounding",
            "dior-rsvg",
            "DIOR-RSVG: the folder with Annotations/*.xml and test.txt, JPEGImages (`images`)",
            reader_options={"split": "test"},
        ),
        _vrsbench("vrsbench-ref", "grounding", "`objects` with referring sentences"),
        *(_geoground(name, title, file, box) for name, title, file in GEOGROUND_SETS for box in ("hbb", "obb")),
        Benchmark(
            "geochat-region-captioning",
            "vqa",
            "captioning",
            "geochat-text",
            "GeoChat-Bench region captioning: region_captioning.jsonl and the image folder (`images`)",
            templates={"vqa": "[identify] What is the object present at {question}"},  # upstream RSCoVLM's prompt
        ),
        Benchmark(
            "geochat-grounding-description",
            "vqa",
            "captioning",
            "geochat-text",
            "GeoChat-Bench grounding description: grounding_description.jsonl and the image folder (`images`)",
            templates={"vqa": "{question}"},
        ),
        _geochat("geochat-referring", "grounding", "grounding", "referring", "referring (`type: ref` lines)"),
        Benchmark(
            "geochat-referring-all",
            "grounding",
            "multi_referring",
            "geochat-referring",
            "GeoChat-Bench referring.jsonl, every line (single- and multi-object) and the image folder (`images`)",
        ),
        Benchmark(
            "geochat-grounding",
            "grounding",
            "geochat_grounding",
            "geochat-referring",
            "GeoChat-Bench referring.jsonl, every line, scored by GeoChat's accuracy@0.5 per ground-truth box; "
            "the image folder (`images`)",
        ),
        *(_vhm(name, what, files) for name, (what, files) in VHM_SUITES.items()),
        Benchmark(
            "teochatlas-geochat",
            "vqa",
            "teochat",
            "teochat-eval",
            "TEOChatlas eval, GeoChat subset: the eval folder with AID.json, UCMerced.json, HRBEN.json, LRBEN.json "
            "and their frames",
            reader_options={"files": ["AID.json", "UCMerced.json", "HRBEN.json", "LRBEN.json"]},
            templates={"vqa": "{question}"},  # the question as TEOChatlas words it
        ),
        Benchmark(
            "teochatlas-temporal",
            "vqa",
            "teochat_temporal",
            "teochat-eval",
            "TEOChatlas eval, temporal tasks: the eval folder with " + ", ".join(TEOCHAT_TEMPORAL_FILES) + " and "
            "their frames; scored per data set and task by TEOChat's accuracy or pixel F1",
            reader_options={"files": list(TEOCHAT_TEMPORAL_FILES)},
            templates={"vqa": "{question}"},
        ),
        _detection("dota1.0", "dota", "dota1.0", "DOTA-v1.0 val: a folder with images/ and labelTxt/"),
        _detection(
            "dota1.0-test",
            "image-folder",
            "dota1.0",
            "DOTA-v1.0 test: the (split) image folder; patch answers are merged and written as a Task1 submission",
            export_only=True,
        ),
        _detection("dior-r", "dior-r", "dior-r", "DIOR-R: the oriented-box XML folder; JPEGImages (`images`)"),
        _detection("fair1m", "fair1m", "fair1m", "FAIR1M 1.0/2.0: the labelXml folder; images (`images`)"),
        _detection("hrsc2016", "hrsc2016", "hrsc", "HRSC2016: the Annotations XML folder; AllImages (`images`)"),
        Benchmark(
            "lrs-vqa",
            "uhr_vqa",
            "lrs_vqa",
            "lrs-vqa",
            "LRS-VQA: LRS_VQA_merged.jsonl and its image folder (`images`); `zoom: true` runs the Zoom-in Chain",
            zoom_skip_categories=("count",),  # upstream RSCoVLM does not zoom on counting questions
        ),
        Benchmark(
            "xlrs-bench",
            "uhr_vqa",
            "xlrs",
            "xlrs-bench",
            "XLRS-Bench VQA: VLMEvalKit's TSV (XLRS-Bench-lite_VLM; base64 images are written to `image_cache`) "
            "or lmms-eval's `datasets` folder (initiacms/XLRS-Bench-lite, split `train`)",
        ),
        Benchmark(
            "mme-realworld-rs",
            "uhr_vqa",
            "multiple_choice",
            "mme-realworld",
            "MME-RealWorld: its JSON list (the Remote Sensing subtask is kept) and the image folder (`images`)",
            zoom_skip_categories=("count", "position"),  # upstream RSCoVLM's rule for MME-RealWorld
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
