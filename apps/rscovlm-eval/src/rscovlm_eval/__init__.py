"""Evaluation app: remote-sensing benchmarks, cached inference, metrics and reports."""

__version__ = "0.1.0"
