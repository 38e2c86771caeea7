"""LRS-VQA scoring speed: rscovlm-eval's scorer against a direct per-row implementation of the official rule.

The official rule (exact lower-cased match, else some WordNet synset pair with path similarity > 0.8) asks WordNet for
every row; answers on LRS-VQA come from a small vocabulary, so rscovlm-eval caches the verdict per (answer,
prediction) pair. Both run on the real LRS-VQA rows of the test data (repeated to the benchmark's size, with
predictions taken from other rows so that most need WordNet) and must agree on every row.

    uv run --no-sync python benchmarks/rscovlm_eval_lrs_vqa_scoring.py [--rows 7000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rscovlm_eval.metrics.lrs_vqa import evaluate_lrs_vqa, lrs_correct, wordnet_similar
from rscovlm_eval.metrics.wordnet import load_wordnet

ROWS = Path(__file__).resolve().parents[1] / "apps/rscovlm-eval/tests/data/lrs_vqa/LRS_VQA_sample300.jsonl"


def per_row_official(predictions: list[str], answers: list[str]) -> list[bool]:
    """The rule applied row by row, WordNet queried each time (no cache)."""
    wordnet = load_wordnet()
    verdicts = []
    for prediction, answer in zip(predictions, answers, strict=True):
        pred, gt = prediction.lower(), answer.lower()
        ok = gt == pred
        if not ok:
            for first in wordnet.synsets(gt):
                for second in wordnet.synsets(pred):
                    similarity = first.path_similarity(second)
                    if similarity is not None and similarity > 0.8:
                        ok = True
                        break
                if ok:
                    break
        verdicts.append(ok)
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7000, help="rows to score (LRS-VQA has about 7k)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in ROWS.read_text().splitlines()]
    rows = [rows[i % len(rows)] for i in range(args.rows)]
    answers = [r["ground_truth"] for r in rows]
    predictions = [rows[(i * 7 + 3) % len(rows)]["ground_truth"] for i in range(len(rows))]
    load_wordnet()  # reading WordNet (a few seconds) is shared and not timed

    start = time.perf_counter()
    baseline = per_row_official(predictions, answers)
    baseline_s = time.perf_counter() - start

    wordnet_similar.cache_clear()
    start = time.perf_counter()
    ours = evaluate_lrs_vqa(predictions, answers, [r["category"] for r in rows], [r["question_id"] for r in rows])
    ours_s = time.perf_counter() - start

    assert [lrs_correct(p, a) for p, a in zip(predictions, answers, strict=True)] == baseline
    assert abs(ours["accuracy"] - sum(baseline) / len(baseline)) < 1e-12
    print(f"rows: {len(rows)}, accuracy {ours['accuracy']:.4f} (both)")
    print(f"per-row official rule: {baseline_s:.3f} s")
    print(f"rscovlm-eval scorer:   {ours_s:.3f} s")
    print(f"speed-up: {baseline_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
