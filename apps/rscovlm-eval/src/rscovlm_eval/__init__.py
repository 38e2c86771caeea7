"""Evaluation app: remote-sensing benchmarks, cached inference, metrics and reports.

from rscovlm_eval import run_evaluation
run_dir = run_evaluation("configs/eval.yaml")   # an EvalConfig, a dict or a YAML path; returns the run folder
"""

from rscovlm_eval.config import BenchmarkConfig, ConfigError, EvalConfig, load_config
from rscovlm_eval.registry import BENCHMARKS, Benchmark, get_benchmark
from rscovlm_eval.runner import run_evaluation

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkConfig",
    "ConfigError",
    "EvalConfig",
    "get_benchmark",
    "load_config",
    "run_evaluation",
]
__version__ = "0.1.0"
