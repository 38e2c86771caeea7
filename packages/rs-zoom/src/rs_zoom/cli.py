"""`rs-zoom`: convert images into tiled pyramids and build LRS-VQA-Zoom training data."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from pydantic import ValidationError
from rs_resolution import ImageReadError, ResolutionPolicy
from tqdm import tqdm

from rs_zoom.builder import BuildConfig, build_zoom_dataset
from rs_zoom.crop import CropPolicy
from rs_zoom.tiling import tile_image


@click.group()
def main() -> None:
    """The Zoom-in Chain for ultra-high-resolution remote-sensing images."""


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder.")
@click.option("--tile-size", default=512, show_default=True, help="Tile side in pixels (a multiple of 16).")
@click.option("--compression-level", default=6, show_default=True, type=click.IntRange(0, 9), help="zlib level.")
def tile(images: tuple[Path, ...], out_dir: Path, tile_size: int, compression_level: int) -> None:
    """Convert IMAGES into tiled pyramidal TIFFs OUT/<name>.tif that zoom chains read window by window."""
    stems = [image.stem for image in images]
    if len(set(stems)) < len(stems):
        clashing = sorted({stem for stem in stems if stems.count(stem) > 1})
        raise click.UsageError(f"several images would be written to the same file: {', '.join(clashing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for image in tqdm(images, desc="tiling", unit="image", disable=len(images) < 2):
        dst = out_dir / f"{image.stem}.tif"
        if dst.resolve() == image.resolve():
            raise click.UsageError(f"{image}: the output would overwrite the input; choose another --out")
        try:
            levels = tile_image(image, dst, tile_size=tile_size, compression_level=compression_level)
        except ImageReadError as error:
            click.echo(f"skipped {error}", err=True)
            failed += 1
            continue
        sizes = ", ".join(f"{w}x{h}" for w, h in levels)
        click.echo(f"{image} -> {dst} (levels {sizes})")
    if failed:
        raise click.ClickException(f"{failed} of {len(images)} images could not be read")


@main.command()
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--images", "images_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file with BuildConfig fields; command-line options override it.",
)
@click.option(
    "--source-format",
    type=click.Choice(["lrs-vqa", "visual-cot"]),
    help="SRC holds LRS-VQA rows, or upstream's visual-CoT training entries (their crop boxes cut as given). "
    "[default: lrs-vqa]",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    type=click.Choice(["open", "mc"]),
    help="Question form; repeat for both. [default: open]",
)
@click.option(
    "--convention",
    type=click.Choice(["absolute", "relative1000", "relative100", "relative1"]),
    help="Coordinates of the tool-call box. [default: absolute]",
)
@click.option("--factor", type=int, help="Resize factor (28 for Qwen2.5-VL, 32 for Qwen3-VL).")
@click.option("--min-pixels", type=int, help="Smallest pixel count of a resized image.")
@click.option("--max-pixels", type=int, help="Largest pixel count of a resized image (the overview budget).")
@click.option("--margin", type=float, help="Crop margin, a fraction of the box size per side.")
@click.option("--min-size", type=int, help="Smallest crop side in original pixels.")
@click.option("--num-choices", type=int, help="Options per multiple-choice question.")
@click.option("--seed", type=int, help="Seed of the multiple-choice draws.")
@click.option("--split", help="Split name written into every record.")
def build(src: Path, images_dir: Path, out_dir: Path, config_path: Path | None, **options: object) -> None:
    """Build LRS-VQA-Zoom records from the LRS-VQA rows (or visual-CoT entries) in SRC and the images under --images
    into --out."""
    config = _build_config(config_path, options)
    manifest = build_zoom_dataset(src, images_dir, out_dir, config, progress=True)
    click.echo(
        f"{manifest.records} records ({manifest.zoom_records} zoom, {manifest.plain_records} plain) from "
        f"{manifest.rows} rows; {manifest.skipped_count} skipped; manifest: {out_dir / 'manifest.json'}"
    )
    for reason, count in manifest.skipped_by_reason.items():
        click.echo(f"  skipped {count}: {reason}")


def _build_config(config_path: Path | None, options: dict[str, object]) -> BuildConfig:
    """The YAML config (if any) with the command-line options that were given laid over it."""
    data = {}
    if config_path is not None:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise click.BadParameter(f"{config_path}: expected a mapping of BuildConfig fields", param_hint="--config")
    try:
        config = BuildConfig.model_validate(data)
        given = {key: value for key, value in options.items() if value not in (None, ())}
        policy = {key: given.pop(key) for key in ("factor", "min_pixels", "max_pixels") if key in given}
        crop = {key: given.pop(key) for key in ("margin", "min_size") if key in given}
        if "variants" in given:
            given["variants"] = list(dict.fromkeys(given["variants"]))
        return BuildConfig.model_validate(
            config.model_dump()
            | given
            | {
                "policy": ResolutionPolicy.model_validate(config.policy.model_dump() | policy),
                "crop": CropPolicy.model_validate(config.crop.model_dump() | crop),
            }
        )
    except ValidationError as error:
        where = f"{config_path}: " if config_path is not None else ""
        raise click.ClickException(f"{where}invalid build settings: {error}") from error
