"""Training throughput of a Qwen2.5-VL-7B-shaped model: right padding vs token-budget packing, tokens/s and peak memory.

The model is Qwen2.5-VL-7B-Instruct's architecture, built from its configuration (written out below) with random
weights: bf16, flash-attention 2 where ``flash_attn`` is installed (else sdpa), gradient checkpointing, AdamW, and the
trainer's loss (token losses chunked over the hidden states, `rscovlm_train.losses`). The samples are generated like
the mixture's: images of the training sets' sizes resized to the recipe's pixel budget
(configs/rscovlm-qwen2.5vl-7b.yaml, Qwen's smart_resize), random pixels, and prompts and answers of each task's typical
length (a detection answer lists up to a hundred objects). Both variants train on the same samples:

- padding: ``--batch-size`` samples a step, right-padded to the longest (`PaddingCollator`);
- packing: the samples best-fit packed into rows of ``--max-length`` tokens (`pack_lengths`), one row a step, each
  sample with its own positions and attention (`PackingCollator`).

Prints, per variant, the steps, real tokens, token slots (padding included), tokens/s (real tokens over the time of
all steps but a first warm-up one) and peak GPU memory, then the packing / padding ratio of tokens/s.

    python benchmarks/train_throughput.py [--samples 48] [--max-length 6144] [--batch-size 2]
    python benchmarks/train_throughput.py --tiny       # a tiny model of the same shape family, fp32 on the CPU

It needs only torch and transformers: with the project's sources on the path
(``PYTHONPATH=packages/rscovlm-model/src:apps/rscovlm-train/src``) it imports neither DeepSpeed nor pydantic.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
import yaml
from rscovlm_model.checkpointing import enable_gradient_checkpointing
from rscovlm_model.collate import PackingCollator, PaddingCollator
from rscovlm_model.packing import pack_lengths
from rscovlm_model.sample import IGNORE_INDEX, EncodedSample
from rscovlm_train.losses import head_returns_token_losses, scored_positions

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "rscovlm-qwen2.5vl-7b.yaml"
TOKEN_IDS = {"image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652}
VISION_END, PAD, EOS = 151653, 151643, 151645
# Qwen2.5-VL-7B-Instruct's config.json (architecture only)
QWEN25_VL_7B = {
    "text_config": {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        "bos_token_id": PAD,
        "eos_token_id": EOS,
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "hidden_act": "silu",
        "in_channels": 3,
        "tokens_per_second": 2,
    },
    "tie_word_embeddings": False,
}
TINY_SIZES = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY_VISION = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64}
TINY_MROPE = [2, 3, 3]  # head_dim 16

# task: (share of the mixture, image sizes (width, height) of its training sets, prompt tokens, answer tokens)
TASKS = {
    "classification": (0.15, [(256, 256), (600, 600)], (40, 90), (2, 6)),
    "captioning": (0.15, [(224, 224), (500, 500), (512, 512)], (15, 25), (12, 45)),
    "vqa": (0.2, [(256, 256), (512, 512)], (12, 30), (1, 4)),
    "grounding": (0.15, [(800, 800)], (20, 40), (12, 20)),
    "detection": (0.25, [(512, 512), (800, 800), (1024, 1024)], (30, 50), (10, 1500)),
    "uhr_vqa": (0.1, [(4000, 3000), (2500, 2500)], (20, 40), (2, 10)),
}


def model_config(tiny: bool) -> transformers.Qwen2_5_VLConfig:
    """Qwen2.5-VL-7B's architecture, or (``tiny``) the same with a few small layers."""
    text, vision = dict(QWEN25_VL_7B["text_config"]), dict(QWEN25_VL_7B["vision_config"])
    if tiny:
        text |= TINY_SIZES | {"num_key_value_heads": 2}
        text["rope_parameters"] = {**text["rope_parameters"], "mrope_section": TINY_MROPE}
        vision |= TINY_VISION | {"fullatt_block_indexes": [1]}
    return transformers.Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, tie_word_embeddings=False, **TOKEN_IDS, vision_end_token_id=VISION_END
    )


def pixel_budget() -> tuple[int, int]:
    """The recipe's ``data.resolution`` min_pixels and max_pixels."""
    resolution = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))["data"]["resolution"]
    return int(resolution["min_pixels"]), int(resolution["max_pixels"])


def resized(height: int, width: int, min_pixels: int, max_pixels: int, factor: int = 28) -> tuple[int, int]:
    """Qwen's smart_resize: sides to multiples of ``factor``, the area into the budget (rs_resolution has it too, but
    imports pydantic; transformers' imports torchvision)."""
    area = round(height / factor) * round(width / factor) * factor**2
    if min_pixels <= area <= max_pixels:
        return max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    scale = math.sqrt((max_pixels if area > max_pixels else min_pixels) / (height * width))
    side = math.floor if area > max_pixels else math.ceil
    return max(factor, side(height * scale / factor) * factor), max(factor, side(width * scale / factor) * factor)


def generate_samples(count: int, max_length: int, vocab: int, seed: int = 0) -> list[EncodedSample]:
    """``count`` one-image samples of the mixture's tasks, at the recipe's pixel budget, at most ``max_length`` long."""
    rng = random.Random(seed)
    min_pixels, max_pixels = pixel_budget()
    names = list(TASKS)
    samples = []
    for _ in range(count):
        _, sizes, prompt_range, answer_range = TASKS[rng.choices(names, [TASKS[n][0] for n in names])[0]]
        width, height = rng.choice(sizes)
        rows, cols = resized(height, width, min_pixels, max_pixels)
        image_tokens = (rows // 28) * (cols // 28)
        prompt, answer = rng.randint(*prompt_range), rng.randint(*answer_range)
        answer = max(min(answer, max_length - image_tokens - prompt - 3), 1)
        samples.append(_sample(rng, image_tokens, (1, rows // 14, cols // 14), prompt, answer, vocab))
    return samples


def _sample(rng: random.Random, image_tokens: int, grid: tuple, prompt: int, answer: int, vocab: int) -> EncodedSample:
    text = lambda n: [rng.randrange(1000, min(vocab, 150000)) for _ in range(n)]  # noqa: E731
    ids = [TOKEN_IDS["vision_start_token_id"], *[TOKEN_IDS["image_token_id"]] * image_tokens, VISION_END]
    ids += text(prompt)
    supervised = [*text(answer), EOS]
    input_ids = torch.tensor(ids + supervised)
    labels = torch.tensor([IGNORE_INDEX] * len(ids) + supervised)
    mm_types = (input_ids == TOKEN_IDS["image_token_id"]).long()
    patches = grid[0] * grid[1] * grid[2]
    pixels = torch.randn(patches, 3 * 2 * 14 * 14, generator=torch.Generator().manual_seed(rng.randrange(2**31)))
    return EncodedSample(input_ids, labels, mm_types, pixels, torch.tensor([grid]))


@dataclass
class Result:
    steps: int
    real_tokens: int
    slots: int
    seconds: float
    peak_bytes: int | None

    @property
    def tokens_per_second(self) -> float:
        return self.real_tokens / self.seconds


def train_steps(model, batches: list[dict], lr: float = 1e-5) -> Result:
    """A warm-up step on the first batch, then one AdamW step per batch, timed; real tokens are the supervised
    rows' non-padding positions."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    real = slots = 0
    start = 0.0
    for index, (batch, owners) in enumerate([batches[0], *batches]):
        if index == 1:
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        labels = inputs.pop("labels")
        with head_returns_token_losses(model, labels):
            losses = model(**inputs).logits[..., 0]
        scored = scored_positions(labels)
        (losses[scored].sum() / scored.sum().clamp(min=1)).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if index:
            real += int((owners >= 0).sum())
            slots += owners.numel()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) if cuda else None
    del optimizer
    return Result(len(batches), real, slots, seconds, peak)


def padded_batches(samples: list[EncodedSample], batch_size: int) -> list[tuple[dict, torch.Tensor]]:
    collator = PaddingCollator(PAD)
    collated = [collator.collate(samples[i : i + batch_size]) for i in range(0, len(samples), batch_size)]
    return [(c.batch, c.segment_ids) for c in collated]


def packed_batches(model, samples: list[EncodedSample], max_length: int) -> list[tuple[dict, torch.Tensor]]:
    collator = PackingCollator(model, max_length, PAD)
    packs = pack_lengths([len(s) for s in samples], max_length)
    collated = [collator.collate([samples[i] for i in pack]) for pack in packs]
    return [(c.batch, c.segment_ids) for c in collated]


def build_model(tiny: bool) -> torch.nn.Module:
    device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    attention = "flash_attention_2" if importlib.util.find_spec("flash_attn") and device.type == "cuda" else "sdpa"
    torch.manual_seed(0)
    with device:
        model = transformers.Qwen2_5_VLForConditionalGeneration._from_config(
            model_config(tiny), dtype=dtype, attn_implementation=attention
        )
    enable_gradient_checkpointing(model)
    return model.train()


def _memory(result: Result) -> str:
    return "-" if result.peak_bytes is None else f"{result.peak_bytes / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model on the CPU (a check, not a measurement)")
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--max-length", type=int, default=6144)
    parser.add_argument("--batch-size", type=int, default=2, help="samples per padded step")
    args = parser.parse_args()
    longest_image = (pixel_budget()[1] // 28**2) + 100  # the largest image's tokens and a short prompt
    if args.max_length < longest_image:
        parser.error(f"--max-length must be at least {longest_image}: a sample with the largest image must fit")

    model = build_model(args.tiny)
    device, dtype = next(model.parameters()).device, next(model.parameters()).dtype
    samples = generate_samples(args.samples, args.max_length, model.config.text_config.vocab_size)
    lengths = [len(s) for s in samples]
    parameters = sum(p.numel() for p in model.parameters())
    name = "tiny Qwen2.5-VL" if args.tiny else "Qwen2.5-VL-7B-shaped"
    print(f"model: {name}, {parameters / 1e9:.2f}B parameters, {str(dtype).removeprefix('torch.')}, ", end="")
    print(f"{model.config._attn_implementation}, gradient checkpointing, {device.type}")
    min_pixels, max_pixels = pixel_budget()
    print(f"samples: {len(samples)}, {sum(lengths)} tokens (longest {max(lengths)}), pixels {min_pixels}..{max_pixels}")

    results = {
        "padding": train_steps(model, padded_batches(samples, args.batch_size)),
        "packing": train_steps(model, packed_batches(model, samples, args.max_length)),
    }
    print(f"{'variant':<8} {'steps':>6} {'real tokens':>12} {'token slots':>12} {'tokens/s':>10} {'peak memory':>12}")
    for variant, result in results.items():
        print(
            f"{variant:<8} {result.steps:>6} {result.real_tokens:>12} {result.slots:>12} "
            f"{result.tokens_per_second:>10.1f} {_memory(result):>12}"
        )
    ratio = results["packing"].tokens_per_second / results["padding"].tokens_per_second
    print(f"packing / padding tokens/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
