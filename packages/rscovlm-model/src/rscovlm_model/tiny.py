"""Tiny, randomly initialised Qwen2.5-VL / Qwen3-VL checkpoints for tests and the demo, built without the internet.

The checkpoint is a real transformers checkpoint (``save_pretrained``): a small byte-level BPE trained offline with
the Qwen pre-tokenizer, the real Qwen special tokens and chat template, the family's image processor and a model a few
hundred kilobytes large. ``load_model`` / ``load_processor`` read it back like any local Qwen-VL checkpoint.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from rscovlm_model.families import FAMILY_SPECS, Family, FamilySpec

# The Qwen2/Qwen2.5/Qwen3 pre-tokenisation pattern (split before the byte-level mapping).
QWEN_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Control tokens of the Qwen-VL vocabularies, in their order there (special: never split, skipped when decoding).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Added but not special: they survive decoding, so tool calls reach the parser.
QWEN_ADDED_TOKENS = (
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)
TINY_BPE_VOCAB_SIZE = 1000
TINY_MIN_PIXELS = 4 * 28 * 28
TINY_MAX_PIXELS = 256 * 28 * 28

_CORPUS = (
    "You are a helpful assistant.",
    "system user assistant tool",
    "Describe this remote sensing image in one sentence.",
    "Classify the scene. Answer with one of the following classes.",
    "Detect all objects in the image and output their oriented bounding boxes.",
    "Where is the large vehicle parked next to the building? Output the bounding box.",
    "Zoom in to the region of interest and answer the question.",
    "Here's the zoomed-in image. You can complete your task now.",
    "There are none.",
    "How many planes are there in the image? Is there a harbor? yes no",
    "plane ship storage tank baseball diamond tennis court basketball court ground track field harbor bridge",
    "large vehicle small vehicle helicopter roundabout soccer ball field swimming pool container crane airport",
    "Many buildings and green trees are around a playground. A river runs through a dense residential area.",
    '[{"bbox_2d": [12, 345, 67, 890], "label": "plane"}, {"quadrant bbox": [1, 2, 3, 4, 5, 6, 7, 8]}]',
    '{"name": "image_zoom_in", "arguments": {"bbox": [120, 64, 512, 384]}}',
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 -90 45.5 rural urban presence comparison count area",
    # paragraph breaks, so that newlines merge into multi-newline tokens as in the real Qwen vocabulary
    "First paragraph.\n\nSecond paragraph.\n\n\nThird one, \n indented\n  twice.\n\n",
)


def build_offline_tokenizer() -> transformers.PreTrainedTokenizerBase:
    """Train a small byte-level BPE with the Qwen pre-tokenizer and wrap it in transformers' ``Qwen2Tokenizer``."""
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_BPE_VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    model_state = json.loads(bpe.to_str())["model"]
    merges = [tuple(pair) if isinstance(pair, list) else tuple(pair.split(" ")) for pair in model_state["merges"]]
    tokenizer = transformers.Qwen2Tokenizer(
        vocab=model_state["vocab"],
        merges=merges,
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
    )
    tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in QWEN_SPECIAL_TOKENS])
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in QWEN_ADDED_TOKENS])
    return tokenizer


def chat_template(family: Family) -> str:
    """The family's real chat template, shipped as package data."""
    path = resources.files("rscovlm_model") / "chat_templates" / FAMILY_SPECS[family].chat_template
    return path.read_text(encoding="utf-8").rstrip("\n")


def _tiny_config(
    spec: FamilySpec, tokenizer: transformers.PreTrainedTokenizerBase, hidden_size: int, num_layers: int
) -> transformers.PretrainedConfig:
    ids = {
        name: tokenizer.convert_tokens_to_ids(token)
        for name, token in (
            ("image_token_id", "<|image_pad|>"),
            ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"),
            ("vision_end_token_id", "<|vision_end|>"),
        )
    }
    vocab_size = -(-len(tokenizer) // 64) * 64
    text = {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": hidden_size // 16,  # head_dim 16, as the rope sections below assume
        "num_key_value_heads": hidden_size // 32,
        "max_position_embeddings": 32768,
        "bos_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": spec.patch_size,
        "spatial_merge_size": spec.merge_size,
        "temporal_patch_size": 2,
    }
    if spec.family == "qwen2_5_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]}
        vision |= {"window_size": 112, "fullatt_block_indexes": [1]}
        return transformers.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids)
    text |= {"head_dim": 16}
    text["rope_parameters"] = {
        "rope_type": "default",
        "rope_theta": 5000000.0,
        "mrope_section": [4, 2, 2],
        "mrope_interleaved": True,
    }
    vision |= {"num_position_embeddings": 64, "deepstack_visual_indexes": [0, 1]}
    return transformers.Qwen3VLConfig(text_config=text, vision_config=vision, **ids)


def _tiny_processor(spec: FamilySpec, tokenizer: transformers.PreTrainedTokenizerBase) -> transformers.ProcessorMixin:
    norm = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]} if spec.family == "qwen3_vl" else {}
    size = {"shortest_edge": TINY_MIN_PIXELS, "longest_edge": TINY_MAX_PIXELS}
    image_processor = transformers.Qwen2VLImageProcessor(
        size=size, patch_size=spec.patch_size, merge_size=spec.merge_size, **norm
    )
    video_processor = getattr(transformers, spec.video_processor_class)(
        patch_size=spec.patch_size, merge_size=spec.merge_size, **norm
    )
    processor_class = getattr(transformers, spec.processor_class)
    return processor_class(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=chat_template(spec.family),
    )


def build_tiny_checkpoint(
    out_dir: str | Path, family: Family = "qwen2_5_vl", seed: int = 0, hidden_size: int = 64, num_layers: int = 2
) -> Path:
    """Build a random tiny model of ``family`` with an offline tokenizer and save it to ``out_dir``; return the path.

    ``hidden_size`` (a multiple of 32) and ``num_layers`` size the language model, e.g. larger to memorise quickly."""
    if hidden_size % 32:
        raise ValueError(
            f"hidden_size must be a multiple of 32 (head_dim 16, two query heads per key head), got {hidden_size}"
        )
    spec = FAMILY_SPECS[family]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_offline_tokenizer()
    config = _tiny_config(spec, tokenizer, hidden_size, num_layers)
    torch.manual_seed(seed)
    model = getattr(transformers, spec.model_class)(config).to(torch.float32)
    model.generation_config = transformers.GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    _tiny_processor(spec, tokenizer).save_pretrained(out)
    return out
