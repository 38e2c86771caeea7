"""Real-token fraction of training batches: padding to the longest sample vs packing samples into max_length rows.

A co-training mix puts short captions and classification answers beside detection answers thousands of tokens long,
so padding wastes most of every batch. This draws sample lengths from a length model of the mix (image tokens from
rs-resolution's smart_resize for each data set's image size under a Qwen2.5-VL budget, text tokens from the answer
forms: ~34 tokens per polygon object, digits tokenised one by one as Qwen does), truncates them to max_length as
`encode` does, then measures:

- padding: batches of `--batch-size` samples in sampling order, each padded to its longest sample;
- packing: `PackedBatchSampler` (best-fit decreasing over shuffled windows), each pack counted as a full
  max_length row, i.e. the fraction if every step had the same fixed shape.

Prints both fractions, their ratio and the time each plan took.

    uv run --no-sync python benchmarks/rscovlm_model_packing.py [--samples 20000] [--max-length 6144]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rs_resolution import smart_resize, visual_tokens
from rscovlm_model.packing import PackedBatchSampler, real_token_fraction

MAX_PIXELS = 1280 * 28 * 28  # the Qwen2.5-VL processor default budget
TEMPLATE_TOKENS = 21  # system + user/assistant headers, vision start/end, turn ends
# task: (share of the mix, image (width, height) choices, prompt tokens range, answer tokens sampler)
MIX = {
    "classification": (0.20, [(256, 256), (600, 600)], (120, 260), lambda rng: rng.integers(2, 6)),
    "captioning": (0.20, [(224, 224), (500, 500), (256, 256)], (15, 30), lambda rng: rng.integers(12, 45)),
    "vqa": (0.25, [(256, 256), (512, 512)], (12, 30), lambda rng: rng.integers(1, 4)),
    "grounding": (0.10, [(800, 800)], (15, 40), lambda rng: rng.integers(14, 22)),
    "detection": (0.20, [(1024, 1024), (800, 800)], (60, 110), lambda rng: 34 * rng.negative_binomial(1, 0.035)),
    "uhr_zoom": (0.05, [(1024, 1024)], (30, 60), lambda rng: 45 + rng.integers(1, 8)),
}


def sample_lengths(count: int, max_length: int, rng: np.random.Generator) -> tuple[list[int], int]:
    """Token lengths of ``count`` samples of the mix, truncated to ``max_length``; also how many were truncated."""
    tasks = list(MIX)
    shares = np.array([MIX[t][0] for t in tasks])
    lengths, truncated = [], 0
    for task in rng.choice(tasks, size=count, p=shares / shares.sum()):
        _, sizes, (low, high), answer = MIX[task]
        width, height = sizes[rng.integers(len(sizes))]
        image = visual_tokens(*smart_resize(height, width, max_pixels=MAX_PIXELS))
        if task == "uhr_zoom":  # overview plus the crop of the second round
            image += visual_tokens(*smart_resize(int(rng.integers(300, 900)), int(rng.integers(300, 900))))
        length = TEMPLATE_TOKENS + image + int(rng.integers(low, high)) + int(answer(rng))
        truncated += length > max_length
        lengths.append(min(length, max_length))
    return lengths, truncated


def padding_fraction(lengths: list[int], batch_size: int) -> float:
    real = padded = 0
    for start in range(0, len(lengths), batch_size):
        batch = lengths[start : start + batch_size]
        real += sum(batch)
        padded += max(batch) * len(batch)
    return real / padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--max-length", type=int, default=6144)
    parser.add_argument("--batch-size", type=int, default=4, help="samples per padded batch")
    parser.add_argument("--window", type=int, default=2000, help="samples packed together at a time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    lengths, truncated = sample_lengths(args.samples, args.max_length, np.random.default_rng(args.seed))
    print(
        f"{len(lengths)} samples, mean {np.mean(lengths):.0f} tokens, median {np.median(lengths):.0f}, "
        f"max {max(lengths)}, truncated to {args.max_length}: {truncated}"
    )

    start = time.perf_counter()
    padded = padding_fraction(lengths, args.batch_size)
    padding_s = time.perf_counter() - start

    start = time.perf_counter()
    bins = list(PackedBatchSampler(lengths, args.max_length, seed=args.seed, window=args.window))
    packing_s = time.perf_counter() - start
    packed = real_token_fraction(bins, lengths, args.max_length)

    print(
        f"padding (batch {args.batch_size}, pad to longest): real-token fraction {padded:.4f}  "
        f"[{len(lengths) // args.batch_size} batches, planned in {padding_s * 1e3:.1f} ms]"
    )
    print(
        f"packing (rows of {args.max_length}, window {args.window}): real-token fraction {packed:.4f}  "
        f"[{len(bins)} rows, planned in {packing_s * 1e3:.1f} ms]"
    )
    print(f"ratio packing / padding: {packed / padded:.2f}x")


if __name__ == "__main__":
    main()
