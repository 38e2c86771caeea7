"""benchmarks/train_throughput.py at tiny scale, with DeepSpeed and pydantic made unimportable: its table is printed,
both variants train on the same real tokens, packing fills its rows and the ratio is the quotient of the rates."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
BARE = """
import runpy, sys
for name in ("deepspeed", "pydantic", "rs_resolution", "rs_data"):
    sys.modules[name] = None  # an import of any of them fails
sys.argv = ["train_throughput.py", "--tiny", "--samples", "3", "--max-length", "2048"]
runpy.run_path({script!r}, run_name="__main__")
"""
ROW = re.compile(r"^(padding|packing)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\S+)$", re.MULTILINE)


def test_the_benchmark_prints_sane_figures_without_deepspeed():
    script = ROOT / "benchmarks" / "train_throughput.py"
    done = subprocess.run(
        [sys.executable, "-c", BARE.format(script=str(script))], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows = {m[0]: (int(m[1]), int(m[2]), int(m[3]), float(m[4]), m[5]) for m in ROW.findall(done.stdout)}
    assert set(rows) == {"padding", "packing"}, done.stdout
    (pad_steps, pad_real, pad_slots, pad_rate, pad_memory), (steps, real, slots, rate, memory) = (
        rows["padding"],
        rows["packing"],
    )
    assert pad_real == real > 0  # the same samples in both variants
    assert pad_slots >= pad_real and slots == real  # a pack is one row of its own length
    assert pad_steps == 2 and 1 <= steps <= 3  # 3 samples, 2 a padded step
    assert pad_rate > 0 and rate > 0 and pad_memory == memory == "-"  # no GPU here
    ratio = float(re.search(r"packing / padding tokens/s: ([\d.]+)x", done.stdout)[1])
    assert ratio == pytest.approx(rate / pad_rate, abs=0.01)
    assert "tiny Qwen2.5-VL" in done.stdout and "gradient checkpointing, cpu" in done.stdout


def test_the_benchmark_resizes_images_like_rs_resolution():
    import runpy

    from rs_resolution import smart_resize

    resized = runpy.run_path(str(ROOT / "benchmarks" / "train_throughput.py"), run_name="train_throughput")["resized"]
    sides = [40, 224, 256, 500, 600, 800, 1024, 2500, 4000, 7000]
    for height in sides:
        for width in sides:
            expected = smart_resize(height, width, 28, 50176, 1016064)
            assert resized(height, width, 50176, 1016064) == expected, (height, width)
