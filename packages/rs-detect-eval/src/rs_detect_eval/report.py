"""People-facing output of a mAP run: a Markdown table and, on request, one precision-recall PNG per class."""

from __future__ import annotations

from pathlib import Path

from rs_detect_eval.map_eval import MapResult

RULE_SUMMARIES = {
    "devkit": "DOTA_devkit polyiou, as the DOTA server scores",
    "mmrotate": "minimum-area rectangles, as mmrotate 0.3.4",
    "valid": "bow-ties repaired, IoU in [0, 1]",
}


def markdown_table(result: MapResult) -> str:
    """Per-class AP (in %), ground-truth and detection counts, the mAP row, then the IoU rule, the polygons the rules
    disagree on, images left out and notes."""
    lines = ["| class | AP (%) | ground truth | detections |", "|---|---:|---:|---:|"]
    for name, item in result.per_class.items():
        lines.append(f"| {name} | {100 * item.ap:.2f} | {item.num_gt} | {item.num_det} |")
    lines.append(f"| **mAP** | **{100 * result.map:.2f}** | | |")
    lines.append("")
    lines.append(f"IoU rule: {result.iou_rule} ({RULE_SUMMARIES[result.iou_rule]}), threshold {result.iou_thr}")
    for side, counts in result.defects.items():
        listed = ", ".join(f"{count} {kind.replace('_', '-')}" for kind, count in counts.items())
        lines.append(f"{side.replace('_', ' ')}: {listed}")
    if result.ignored_images:
        count = sum(result.ignored_images.values())
        lines.append(f"left out: {count} detections of {len(result.ignored_images)} images without ground truth")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def plot_pr_curves(result: MapResult, out_dir: str | Path) -> list[Path]:
    """One `pr_<class>.png` per class with detections (matplotlib, Agg backend); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, item in result.per_class.items():
        if item.num_det == 0:
            continue
        figure, axes = plt.subplots(figsize=(4, 4))
        axes.plot(item.recall, item.precision, drawstyle="steps-post")
        axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision")
        axes.set_title(f"{name}: AP {100 * item.ap:.2f}")
        axes.grid(alpha=0.3)
        path = out_dir / f"pr_{name.replace('/', '_').replace(' ', '_')}.png"
        figure.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
