"""GeoChat-Bench region captioning: upstream's prompt around the region box, scored by the captioning metrics."""

import json

import pytest
from rscovlm_eval import run_evaluation


@pytest.mark.slow  # pycocoevalcap's Java tokenizer and METEOR
def test_region_captioning(bench_root, qwen25_folder, make_config, tmp_path):
    references = {
        "{<16><30><86><84>|<0>}": "a large golf course with green fairways",
        "{<2><10><20><50>|<0>}": "a patch of green grass on the left",
    }
    prompts = []

    def generate(conversations):
        texts = [c[-1]["content"][-1]["text"] for c in conversations]
        prompts.extend(texts)
        return [references[t.rsplit(" ", 1)[-1]] for t in texts]

    bench = {"name": "geochat-region-captioning", "data": "geochat/region_captioning_small.jsonl"}
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=[bench], plots=False)
    run_dir = run_evaluation(config, generate=generate)
    assert sorted(prompts) == sorted(f"[identify] What is the object present at {box}" for box in references)
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["geochat-region-captioning"]
    assert result["count"] == 2 and result["skipped_inputs"] == 1  # the line without a ground truth
    assert result["BLEU-1"] == pytest.approx(1.0, abs=1e-6)  # every answer is one of its references
    assert result["ROUGE-1"] == pytest.approx(1.0) and result["ROUGE-L"] == pytest.approx(1.0)  # GeoChat's pair
