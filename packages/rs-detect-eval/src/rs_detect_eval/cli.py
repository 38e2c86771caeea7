"""`rs-detect-eval`: score detection results, parse model answers, merge patches, export DOTA Task1 files."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tqdm import tqdm

from rs_detect_eval.answers import MAX_LINE_CHARS, read_answers
from rs_detect_eval.classes import load_classes
from rs_detect_eval.dota_labels import read_dota_label
from rs_detect_eval.f1 import best_mf1, evaluate_mf1
from rs_detect_eval.map_eval import CONVENTIONS, evaluate_map
from rs_detect_eval.map_nc import evaluate_map_nc
from rs_detect_eval.merge import merge_patches
from rs_detect_eval.records import ImageDet, ImageGT
from rs_detect_eval.report import markdown_table, plot_pr_curves
from rs_detect_eval.task1 import read_task1_dir, unknown_task1_files, write_task1

BOX_TYPES = click.Choice(["hbb", "obb", "poly"])
COORDS = click.Choice(["absolute", "relative1000", "relative100", "relative1"])


def _read_gt(directory: Path) -> list[ImageGT]:
    paths = sorted(directory.glob("*.txt"))
    if not paths:
        raise click.BadParameter(f"{directory}: no *.txt DOTA label files", param_hint="--gt")
    return [read_dota_label(p) for p in tqdm(paths, desc="labels", unit="file", disable=len(paths) < 200)]


def _read_dets(
    path: Path, classes: list[str], box_type: str, coords: str, max_line_chars: int = MAX_LINE_CHARS
) -> tuple[list[ImageDet], dict]:
    """Task1 files in a folder, or model answers in a JSONL file, and what reading them left out or guessed (also
    written to stderr)."""
    if path.is_dir():
        unknown = [str(p) for p in unknown_task1_files(path, classes)]
        report = {"task1_files_of_unknown_classes": unknown}
        if unknown:
            click.echo(f"left out {len(unknown)} Task1 files of no evaluated class: {', '.join(unknown)}", err=True)
        return read_task1_dir(path, classes), report
    dets, answers = read_answers(path, classes, box_type, coords, max_line_chars)
    click.echo(f"answers: {json.dumps(answers.to_dict())}", err=True)
    return dets, {"answers": answers.to_dict()}


def _write_json(data: dict, out: Path | None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")


def _common(function):
    options = [
        click.option(
            "--gt",
            "gt_dir",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            required=True,
            help="Folder of DOTA labelTxt files.",
        ),
        click.option(
            "--det",
            type=click.Path(exists=True, path_type=Path),
            required=True,
            help="Folder of Task1_<class>.txt files, or a JSONL file of model answers.",
        ),
        click.option(
            "--classes",
            "class_set",
            default="dota1.0",
            show_default=True,
            help="A class set name (dota1.0, dota1.5, dota2.0, dior-r, fair1m, hrsc) or a file, one a line.",
        ),
        click.option("--box-type", type=BOX_TYPES, default="poly", show_default=True, help="Box form in answers."),
        click.option(
            "--coords", type=COORDS, default="absolute", show_default=True, help="Coordinate convention of answers."
        ),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the result as JSON here."),
        click.option(
            "--max-answer-chars",
            type=click.IntRange(min=1),
            default=MAX_LINE_CHARS,
            show_default=True,
            help="Refuse answer lines longer than this.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _map_options(function):
    options = [
        click.option(
            "--convention",
            type=click.Choice(list(CONVENTIONS)),
            default="devkit",
            show_default=True,
            help="devkit: DOTA_devkit task1 with polyiou's IoU; mmrotate: eval_rbbox_map 0.3.4; valid: devkit's "
            "protocol with bow-ties repaired and IoU in [0, 1] (recommended for new work).",
        ),
        click.option(
            "--ap",
            "ap_mode",
            type=click.Choice(["voc07", "area"]),
            default="voc07",
            show_default=True,
            help="11-point (voc07) or all-point (area) AP.",
        ),
        click.option("--iou", "iou_thr", type=float, default=0.5, show_default=True, help="IoU threshold."),
        click.option(
            "--difficult-as-ignore",
            is_flag=True,
            help="mmrotate convention: treat difficult objects as ignored instead of ordinary.",
        ),
        click.option(
            "--ignore-unknown-images",
            is_flag=True,
            help="Leave out (and count) detections of images without ground truth instead of failing.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


class _Commands(click.Group):
    """Every failure ends in a one-line message naming the cause, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            raise click.ClickException(f"{type(error).__name__}: {error}") from error


def _map_settings(settings: dict) -> dict:
    """The `evaluate_map` keyword arguments of the shared mAP options."""
    settings = dict(settings)
    settings["unknown_images"] = "ignore" if settings.pop("ignore_unknown_images") else "error"
    return settings


@click.group(cls=_Commands)
def main() -> None:
    """Box text and rotated-box detection metrics (DOTA_devkit and mmrotate conventions, mAP_nc, mF1)."""


@main.command("map")
@_common
@_map_options
@click.option(
    "--backend",
    type=click.Choice(["native", "mmrotate"]),
    default="native",
    show_default=True,
    help="native: this package; mmrotate: mmrotate's own eval_rbbox_map (needs the mmrotate extra).",
)
@click.option("--pr-curves", type=click.Path(file_okay=False, path_type=Path), help="Write one PR-curve PNG per class.")
def map_command(
    gt_dir, det, class_set, box_type, coords, out, max_answer_chars, backend, pr_curves, **settings
) -> None:
    """mAP of detections against DOTA labels; prints a Markdown table."""
    classes = load_classes(class_set)
    gts = _read_gt(gt_dir)
    dets, inputs = _read_dets(det, classes, box_type, coords, max_answer_chars)
    options = _map_settings(settings)
    if backend == "mmrotate":
        from rs_detect_eval.mmrotate_backend import evaluate_map_mmrotate

        result = evaluate_map_mmrotate(
            dets, gts, classes, options["iou_thr"], options["ap_mode"], options["difficult_as_ignore"]
        )
    else:
        result = evaluate_map(dets, gts, classes, **options)
    click.echo(markdown_table(result))
    _write_json(result.to_dict() | {"input": inputs}, out)
    if pr_curves is not None:
        click.echo(f"wrote {len(plot_pr_curves(result, pr_curves))} PR curves to {pr_curves}")


@main.command("mapnc")
@_common
@_map_options
@click.option("--threshold", type=float, help="Score threshold for a scored detector (boxes with score > t kept).")
@click.option(
    "--val-gt",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Validation labels to choose the threshold on.",
)
@click.option("--val-det", type=click.Path(exists=True, path_type=Path), help="Validation detections.")
@click.option("--tie-seeds", type=int, default=10, show_default=True, help="Random tie orders for mean/std.")
def mapnc_command(
    gt_dir, det, class_set, box_type, coords, out, max_answer_chars, threshold, val_gt, val_det, tie_seeds, **settings
) -> None:
    """mAP_nc: mAP without confidence (all surviving boxes get score 1)."""
    classes = load_classes(class_set)
    if (val_gt is None) != (val_det is None):
        raise click.UsageError("--val-gt and --val-det go together")
    val = None
    if val_gt is not None:
        val = (_read_dets(val_det, classes, box_type, coords, max_answer_chars)[0], _read_gt(val_gt))
    dets, inputs = _read_dets(det, classes, box_type, coords, max_answer_chars)
    result = evaluate_map_nc(
        dets,
        _read_gt(gt_dir),
        classes,
        threshold,
        val,
        tie_seeds=tie_seeds,
        **_map_settings(settings),
    )
    click.echo(markdown_table(result.result))
    click.echo(
        f"mAP_nc {100 * result.map:.2f} (random tie orders: {100 * result.map_mean:.2f} ± "
        f"{100 * result.map_std:.2f}); threshold {result.threshold}"
    )
    _write_json(result.to_dict() | {"input": inputs}, out)


@main.command("f1")
@_common
@click.option("--iou", "iou_thr", type=float, default=0.5, show_default=True, help="IoU threshold.")
@click.option("--score-thr", type=float, help="One score threshold; default: the best of 0, 0.1, ..., 0.9.")
def f1_command(gt_dir, det, class_set, box_type, coords, out, max_answer_chars, iou_thr, score_thr) -> None:
    """mF1 (LMMRotate's definition)."""
    classes = load_classes(class_set)
    gts = _read_gt(gt_dir)
    dets, inputs = _read_dets(det, classes, box_type, coords, max_answer_chars)
    if score_thr is None:
        result = best_mf1(dets, gts, classes, iou_thr)
    else:
        result = evaluate_mf1(dets, gts, classes, iou_thr, score_thr)
    click.echo(
        f"mF1 {100 * result.f1:.2f}  mP {100 * result.precision:.2f}  mR {100 * result.recall:.2f}  "
        f"score threshold {result.score_thr}  classes {result.num_classes}"
    )
    for reason, count in result.left_out.items():
        click.echo(f"left out: {count} ({reason})")
    _write_json(result.to_dict() | {"input": inputs}, out)


@main.command("parse")
@click.argument("answers", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--classes", "class_set", default="dota1.0", show_default=True, help="Class set name or file.")
@click.option("--box-type", type=BOX_TYPES, default="poly", show_default=True)
@click.option("--coords", type=COORDS, default="absolute", show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the Task1_<class>.txt files.",
)
def parse_command(answers, class_set, box_type, coords, out) -> None:
    """Parse model answers (JSONL) into Task1 files and report what was dropped and why."""
    classes = load_classes(class_set)
    dets, report = read_answers(answers, classes, box_type, coords)
    write_task1(dets, out, classes)
    click.echo(json.dumps(report.to_dict(), indent=2))


@main.command("merge")
@click.option(
    "--det",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder of Task1 files whose image ids are patch names (P0706__1__0___158).",
)
@click.option("--classes", "class_set", default="dota1.0", show_default=True)
@click.option("--nms-iou", type=float, default=0.1, show_default=True, help="Rotated NMS IoU threshold.")
@click.option("--rate-in-name", is_flag=True, help="The middle name field is DOTA_devkit's rescale rate.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def merge_command(det, class_set, nms_iou, rate_in_name, out) -> None:
    """Merge patch detections to full images with per-class rotated NMS."""
    classes = load_classes(class_set)
    merged = merge_patches(read_task1_dir(det, classes), nms_iou, rate_in_name=rate_in_name)
    write_task1(merged, out, classes)
    click.echo(f"merged into {len(merged)} images, {sum(len(d.labels) for d in merged)} detections -> {out}")


@main.command("export")
@click.option(
    "--det", type=click.Path(exists=True, path_type=Path), required=True, help="Task1 folder or JSONL of model answers."
)
@click.option("--classes", "class_set", default="dota1.0", show_default=True)
@click.option("--box-type", type=BOX_TYPES, default="poly", show_default=True)
@click.option("--coords", type=COORDS, default="absolute", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write a zip.")
def export_command(det, class_set, box_type, coords, out, zip_path) -> None:
    """Write DOTA Task1 submission files (and a zip)."""
    classes = load_classes(class_set)
    paths = write_task1(_read_dets(det, classes, box_type, coords)[0], out, classes, zip_path)
    click.echo(f"wrote {len(paths)} Task1 files to {out}" + (f" and {zip_path}" if zip_path else ""))
