"""``rs-resolution`` command line: plan the resolution (and token cost) of images before training."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import numpy as np

from rs_resolution.image import ImageReadError, read_image_size
from rs_resolution.resize import IMAGE_FACTOR, MAX_PIXELS, MIN_PIXELS, ResizeConvention, smart_resize, visual_tokens

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
PERCENTILES = (50, 90, 99)
HISTOGRAM_BINS = 10
BAR_WIDTH = 40


@dataclass(frozen=True)
class PlanRow:
    """One image: its original size, the size the model sees and the tokens it costs."""

    path: str
    width: int
    height: int
    resized_width: int
    resized_height: int
    tokens: int


def collect_images(paths: tuple[Path, ...]) -> list[Path]:
    """The image files named or found (recursively, by suffix) under the given folders, sorted per folder."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            files.append(path)
    return files


def plan_image(
    path: Path, factor: int, min_pixels: int, max_pixels: int, convention: ResizeConvention = "qwen-vl-utils"
) -> PlanRow:
    """Plan one image; raises ``ImageReadError`` with the reason."""
    width, height = read_image_size(path)
    try:
        resized_height, resized_width = smart_resize(height, width, factor, min_pixels, max_pixels, convention)
        tokens = visual_tokens(resized_height, resized_width, factor)
    except ValueError as error:
        raise ImageReadError(path, str(error)) from error
    return PlanRow(str(path), width, height, resized_width, resized_height, tokens)


def summarize(rows: list[PlanRow]) -> dict:
    """Count, token percentiles and a token histogram over planned images."""
    tokens = np.array([row.tokens for row in rows])
    counts, edges = np.histogram(tokens, bins=HISTOGRAM_BINS)
    return {
        "count": len(rows),
        "tokens_total": int(tokens.sum()),
        "tokens_min": int(tokens.min()),
        "tokens_max": int(tokens.max()),
        "tokens_percentiles": {f"p{q}": float(np.percentile(tokens, q)) for q in PERCENTILES},
        "histogram": [
            {"from": float(lo), "to": float(hi), "count": int(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ],
    }


def _print_summary(summary: dict) -> None:
    percentiles = "  ".join(f"{k}={v:g}" for k, v in summary["tokens_percentiles"].items())
    click.echo(
        f"images: {summary['count']}  tokens: total={summary['tokens_total']} min={summary['tokens_min']} "
        f"{percentiles} max={summary['tokens_max']}"
    )
    largest = max(b["count"] for b in summary["histogram"])
    for b in summary["histogram"]:
        bar = "#" * round(BAR_WIDTH * b["count"] / largest) if largest else ""
        click.echo(f"  {b['from']:>9.0f} - {b['to']:>9.0f} tokens | {b['count']:>7d} {bar}")


@click.group()
def main() -> None:
    """Dynamic resolution and coordinate tools for remote-sensing VLMs."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--factor", default=IMAGE_FACTOR, show_default=True, help="Patch size x merge size: 28 Qwen2.5-VL, 32 Qwen3-VL."
)
@click.option("--min-pixels", default=MIN_PIXELS, show_default=True, help="Smallest resized area in pixels.")
@click.option("--max-pixels", default=MAX_PIXELS, show_default=True, help="Largest resized area in pixels.")
@click.option(
    "--convention",
    type=click.Choice(["qwen-vl-utils", "transformers"]),
    default="qwen-vl-utils",
    show_default=True,
    help="Which reference smart_resize to follow.",
)
@click.option("--per-image/--summary-only", default=None, help="Print a line per image (default: when <= 20 images).")
@click.option("--json", "as_json", is_flag=True, help="Print rows, summary and skipped files as JSON.")
def plan(
    paths: tuple[Path, ...],
    factor: int,
    min_pixels: int,
    max_pixels: int,
    convention: ResizeConvention,
    per_image: bool | None,
    as_json: bool,
) -> None:
    """Show the size each image is resized to and its visual-token cost.

    PATHS are image files or folders (searched recursively). Tune --max-pixels against out-of-memory errors: the
    token cost per image is what the language model has to hold.
    """
    if not 0 < min_pixels <= max_pixels:
        raise click.BadParameter(f"need 0 < min-pixels <= max-pixels, got {min_pixels} and {max_pixels}")
    if max_pixels < factor**2:
        raise click.BadParameter(f"max-pixels {max_pixels} is below one patch of factor {factor} ({factor**2})")
    rows: list[PlanRow] = []
    skipped: list[dict[str, str]] = []
    for path in collect_images(paths):
        try:
            rows.append(plan_image(path, factor, min_pixels, max_pixels, convention))
        except ImageReadError as error:
            skipped.append({"path": error.path, "reason": error.reason})
    summary = summarize(rows) if rows else None
    if as_json:
        click.echo(json.dumps({"rows": [asdict(r) for r in rows], "summary": summary, "skipped": skipped}, indent=2))
        return
    if per_image if per_image is not None else len(rows) <= 20:
        for r in rows:
            click.echo(
                f"{r.path}: {r.width}x{r.height} -> {r.resized_width}x{r.resized_height} (w x h), {r.tokens} tokens"
            )
    if summary is not None:
        _print_summary(summary)
    for s in skipped:
        click.echo(f"skipped {s['path']}: {s['reason']}", err=True)
    if not rows:
        raise click.ClickException("no readable image among the given paths")
