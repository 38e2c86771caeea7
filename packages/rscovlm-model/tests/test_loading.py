"""Family detection, the tiny checkpoint factory and the public loading path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import transformers
from rscovlm_model import FAMILY_SPECS, detect_family, load_model, load_processor
from rscovlm_model.tiny import QWEN_ADDED_TOKENS, QWEN_SPECIAL_TOKENS, chat_template


def test_family_specs_match_the_qwen_conventions() -> None:
    assert FAMILY_SPECS["qwen2_5_vl"].factor == 28
    assert FAMILY_SPECS["qwen2_5_vl"].convention == "absolute"
    assert FAMILY_SPECS["qwen3_vl"].factor == 32
    assert FAMILY_SPECS["qwen3_vl"].convention == "relative1000"


def test_detect_family_reads_dirs_files_dicts_and_configs(tiny_checkpoints: dict[str, Path]) -> None:
    for family, path in tiny_checkpoints.items():
        assert detect_family(path) == family
        assert detect_family(path / "config.json") == family
        assert detect_family(json.loads((path / "config.json").read_text())) == family
        assert detect_family(transformers.AutoConfig.from_pretrained(path)) == family


def test_detect_family_names_the_source_of_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no config\.json"):
        detect_family(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "llava"}')
    with pytest.raises(ValueError, match=r"config\.json.*'llava' is not a supported family"):
        detect_family(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        detect_family(tmp_path)


def test_tiny_checkpoint_loads_back_with_the_real_classes(tiny_checkpoint: Path) -> None:
    family = detect_family(tiny_checkpoint)
    spec = FAMILY_SPECS[family]
    model = load_model(tiny_checkpoint)
    processor = load_processor(tiny_checkpoint)
    assert type(model).__name__ == spec.model_class
    assert type(processor).__name__ == spec.processor_class
    assert model.config._attn_implementation == "sdpa"
    assert model.config.text_config.hidden_size == 64
    assert model.config.text_config.num_hidden_layers == 2
    assert model.config.vision_config.depth == 2
    assert processor.image_processor.patch_size * processor.image_processor.merge_size == spec.factor
    assert processor.image_processor.do_resize is False
    assert processor.chat_template == chat_template(family)


def test_tiny_tokenizer_carries_the_qwen_special_tokens(tiny_checkpoint: Path) -> None:
    processor = load_processor(tiny_checkpoint)
    tokenizer = processor.tokenizer
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    for token in (*QWEN_SPECIAL_TOKENS, *QWEN_ADDED_TOKENS):
        assert tokenizer.tokenize(f"a{token}b") == ["a", token, "b"], token
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert config["image_token_id"] == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert config["vision_start_token_id"] == tokenizer.convert_tokens_to_ids("<|vision_start|>")
    # special tokens vanish when decoding, tool-call tags stay for the parser
    ids = tokenizer.encode("<|im_start|>assistant\n<tool_call>x</tool_call><|im_end|>")
    assert tokenizer.decode(ids, skip_special_tokens=True) == "assistant\n<tool_call>x</tool_call>"


def test_load_model_rejects_a_wrong_family_and_a_bad_dtype(tiny_checkpoints: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="family 'qwen3_vl' was requested but the checkpoint is 'qwen2_5_vl'"):
        load_model(tiny_checkpoints["qwen2_5_vl"], family="qwen3_vl")
    with pytest.raises(ValueError, match="dtype: 'float99'"):
        load_model(tiny_checkpoints["qwen2_5_vl"], dtype="float99")


def test_load_processor_checks_the_policy_factor(tiny_checkpoints: dict[str, Path]) -> None:
    from rs_resolution import ResolutionPolicy

    policy = ResolutionPolicy(factor=28, min_pixels=3136, max_pixels=200704)
    processor = load_processor(tiny_checkpoints["qwen2_5_vl"], policy)
    assert processor.image_processor.size["longest_edge"] == 200704
    with pytest.raises(ValueError, match="factor 28 does not match qwen3_vl"):
        load_processor(tiny_checkpoints["qwen3_vl"], policy)
