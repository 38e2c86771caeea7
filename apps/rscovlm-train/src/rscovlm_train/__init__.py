"""Training app: co-train one Qwen-VL model on a weighted remote-sensing mixture."""

__version__ = "0.1.0"
