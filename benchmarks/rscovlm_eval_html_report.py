"""report.html of a large run: seconds to write it and the bytes it weighs, for 5,000 samples by default.

Writes a scored detection run of N samples on 600 x 600 crops of the DIOR sample photo (real texture, so the
thumbnails weigh what real ones do; `rscovlm_eval.testing.synthetic_run`), then times what `rscovlm-eval report
RUN_DIR --html` does (scoring, plots, the page on every core), and the page alone on one process (the baseline) and
on every core; prints the page's size with its thumbnails. Targets: under 30 s and under 50 MB for 5,000 samples.

    uv run --no-sync python benchmarks/rscovlm_eval_html_report.py [--samples 5000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rscovlm_eval.html_report import FILES, PAGE, write_html_report
from rscovlm_eval.report import write_report
from rscovlm_eval.testing import synthetic_run

PHOTO = Path(__file__).parents[1] / "apps/rscovlm-eval/tests/data/dior_r/00001.jpg"


def megabytes(run_dir: Path) -> float:
    files = [run_dir / PAGE, *(p for p in (run_dir / FILES).rglob("*") if p.is_file())]
    return sum(p.stat().st_size for p in files) / 1e6


def timed(work, *args, **kwargs) -> float:
    start = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = synthetic_run(Path(tmp), args.samples, PHOTO)
        command = timed(write_report, run_dir, plots=True, html=True)
        one = timed(write_html_report, run_dir, workers=1)
        every = timed(write_html_report, run_dir, workers=cores)
        size = megabytes(run_dir)
    print(f"{args.samples} samples: rscovlm-eval report --html in {command:.1f} s (scoring, plots, page)")
    print(f"the page alone: {one:.1f} s on 1 process, {every:.1f} s on {cores} ({one / every:.2f}x)")
    print(f"page and thumbnails: {size:.1f} MB (targets: under 30 s and 50 MB)")


if __name__ == "__main__":
    main()
