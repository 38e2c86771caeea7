"""Real-token fraction and samples/s of the training loader: padding vs token-budget packing, on the demo's records.

Builds the loader `rscovlm-train run` builds (rs-data's mixture, rendering, the tiny checkpoint's processor and
tokenizer, `TrainingCollator`) for the demo's mixture with a larger epoch (``--epoch-size`` samples drawn by the
mixture's weights), at ``--max-length`` tokens per row, twice:

- padding: ``--batch-size`` samples per batch in the mixture sampler's order, padded to the longest;
- packing: `PackedBatchSampler` over the same order, one pack of up to max_length estimated tokens per batch
  (what ``data.packing: true`` with ``per_device_batch_size: 1`` trains on).

For each it prints the real-token fraction (real tokens / token slots of the batches), the row fill (real tokens /
(rows x max_length): the fraction at a fixed row shape), samples per second through the loader (rendering, image
decoding, tokenising and collating; the model's forward pass is not part of it) and the packs split because their
real length exceeded the estimate. The first run writes the length-estimate cache; its time is printed apart.

    uv run --no-sync python benchmarks/rscovlm_model_packing.py [--demo DIR] [--epoch-size 2000] [--max-length 6144]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from rscovlm_model import PackingCollator, PaddingCollator, load_model, load_processor
from rscovlm_train.collate import META_KEY, TrainingCollator
from rscovlm_train.config import load_config
from rscovlm_train.data import build_sampling
from rscovlm_train.demo import DEMO_CONFIG, prepare_demo


def measure(dataset, sampler, collator, batch_size: int | None, max_length: int) -> dict[str, float]:
    """Iterate one epoch of the loader; sum real tokens, token slots, rows and samples."""
    if batch_size is None:
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collator)
    else:
        loader = torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=batch_size, collate_fn=collator)
    real = slots = rows = samples = skipped = 0
    start = time.perf_counter()
    for batch in loader:
        meta = batch[META_KEY]
        real += int((meta["sample_index"] >= 0).sum())
        slots += batch["input_ids"].numel()
        rows += meta["rows"]
        samples += len(meta["ids"])
        skipped += len(meta["dropped"])
    seconds = time.perf_counter() - start
    return {
        "real_token_fraction": real / slots,
        "row_fill": real / (rows * max_length),
        "samples_per_second": samples / seconds,
        "samples": samples,
        "skipped": skipped,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", type=Path, help="a prepared demo folder (default: prepare one in a temp folder)")
    parser.add_argument("--epoch-size", type=int, default=2000)
    parser.add_argument("--max-length", type=int, default=6144)
    parser.add_argument("--batch-size", type=int, default=4, help="samples per padded batch")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        demo = args.demo or Path(scratch) / "demo"
        if not (demo / DEMO_CONFIG).is_file():
            prepare_demo(demo)
        overrides = [
            f"data.max_length={args.max_length}",
            f"data.mixture.epoch_size={args.epoch_size}",
            f"output.dir={Path(scratch) / 'run'}",
        ]
        padded_config = load_config(demo / DEMO_CONFIG, overrides)
        packed_config = load_config(
            demo / DEMO_CONFIG, [*overrides, "data.packing=true", "optim.per_device_batch_size=1"]
        )
        processor = load_processor(padded_config.model.path, padded_config.data.resolution)
        model = load_model(padded_config.model.path, dtype="float32", attn_implementation="sdpa")
        pad_id = processor.tokenizer.pad_token_id

        dataset, sampler = build_sampling(padded_config, processor, rank=0, world_size=1)
        padding = measure(dataset, sampler, TrainingCollator(PaddingCollator(pad_id)), args.batch_size, args.max_length)

        start = time.perf_counter()
        dataset, packer = build_sampling(packed_config, processor, rank=0, world_size=1)
        packs = len(packer)
        estimate_s = time.perf_counter() - start
        inner = PackingCollator(model, args.max_length, pad_id)
        packing = measure(dataset, packer, TrainingCollator(inner), None, args.max_length)

    print(
        f"{args.epoch_size} samples of the demo mixture, rows of {args.max_length} tokens; sample lengths "
        f"counted and {packs} packs planned in {estimate_s:.1f} s"
    )
    for name, result in ((f"padding (batch {args.batch_size})", padding), ("packing (1 pack/batch)", packing)):
        print(
            f"{name:<24} real-token fraction {result['real_token_fraction']:.4f}  row fill {result['row_fill']:.4f}  "
            f"{result['samples_per_second']:.1f} samples/s  [{result['rows']} rows, {result['samples']} samples, "
            f"{result['skipped']} skipped]"
        )
    print(f"packs split after encoding (estimate too low): {inner.stats.split_packs}")
    print(f"row fill packing / padding: {packing['row_fill'] / padding['row_fill']:.2f}x")


if __name__ == "__main__":
    main()
