"""TEOChatlas evaluation: TEOChat's exact-after-cleaning rule by hand, and the single-frame GeoChat subset read."""

import json
from pathlib import Path

import numpy as np
from PIL import Image
from rscovlm_eval import run_evaluation
from rscovlm_eval.metrics.result import Accuracy
from rscovlm_eval.metrics.teochat import evaluate_teochat

DATA = Path(__file__).parent / "data" / "teochatlas" / "eval"


def test_rule_hand_computed():
    result = evaluate_teochat(
        ["Airport.", "dense residential", "Yes", "no!"],
        ["airport", "Dense-Residential", "yes", "yes"],
        ["classification"] * 2 + ["question_answering"] * 2,
        ["AID", "AID", "LRBEN", "LRBEN"],
    )
    # "dense residential" != "denseresidential" (the hyphen is removed, not made a space)
    assert result.per_type["AID/classification"] == Accuracy(0.5, 2)
    assert result.per_type["LRBEN/question_answering"] == Accuracy(0.5, 2)
    assert result.accuracy == 0.5


def test_geochat_subset_runs(tmp_path, qwen25_folder, make_config):
    for name in ("AID/Airport/airport_1.jpg", "AID/Beach/beach_7.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((64, 64, 3), 70, np.uint8)).save(tmp_path / name)
    prompts = []

    def generate(conversations):
        texts = [c[-1]["content"][-1]["text"] for c in conversations]
        prompts.extend(texts)
        return ["Airport"] * len(texts)

    bench = {
        "name": "teochatlas-geochat",
        "data": str(DATA),
        "images": str(tmp_path),
        "options": {"files": ["AID.json", "S2Looking_small.json"]},
    }
    config = make_config(qwen25_folder, tmp_path, tmp_path / "out", benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=generate)
    assert (
        prompts[0]
        == "Classify the image from the following classes: Airport, Beach. Answer in one word or a short phrase."
    )
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["teochatlas-geochat"]
    assert result["count"] == 2 and result["accuracy"] == 0.5 and result["skipped_inputs"] == 1
    manifest = json.loads((run_dir / "teochatlas-geochat" / "manifest.json").read_text())
    reason = manifest["skipped"][0]["reason"]  # the temporal item, whose frames are not there: one skip
    assert reason.startswith("image not found: ") and reason.endswith("/S2Looking/0_A.png")
