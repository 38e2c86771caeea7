"""Qwen2.5-VL / Qwen3-VL loading, encoding, packing and generation for remote-sensing co-training."""

__version__ = "0.1.0"
