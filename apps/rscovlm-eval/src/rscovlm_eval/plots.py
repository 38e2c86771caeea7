"""PNG plots of a report: classification confusion matrices, detection per-class AP and PR curves (matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(confusion: dict[str, Any], title: str, path: Path) -> Path:
    """Row-normalised confusion matrix (truth in rows, prediction in columns, last column unmatched answers)."""
    matrix = np.asarray(confusion["matrix"], dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    side = max(4.0, 0.3 * len(confusion["columns"]) + 2)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(confusion["columns"])), confusion["columns"], rotation=90, fontsize=7)
    ax.set_yticks(range(len(confusion["rows"])), confusion["rows"], fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    return _save(fig, path)


def plot_class_ap(per_class: dict[str, dict[str, Any]], title: str, path: Path) -> Path:
    """Bar chart of AP per class."""
    names = list(per_class)
    values = [100 * per_class[n]["ap"] for n in names]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.4 * len(names) + 2), 4))
    ax.bar(range(len(names)), values, color="tab:blue")
    ax.set_xticks(range(len(names)), names, rotation=75, fontsize=7)
    ax.set_ylim(0, 100)
    ax.set_ylabel("AP (%)")
    ax.set_title(title)
    return _save(fig, path)


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, path: Path) -> Path:
    """Precision-recall curve of every class that has detections: {class: (recall, precision)}."""
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, (recall, precision) in curves.items():
        if len(recall):
            ax.plot(recall, precision, label=name, linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title)
    if curves:
        ax.legend(fontsize=6, ncol=2, loc="lower left")
    return _save(fig, path)


def plot_training_loss(history: list[dict[str, Any]], title: str, path: Path) -> Path:
    """The training loss by optimiser step, overall and per task (``loss_task/<task>`` entries of the log)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    names = sorted({key for entry in history for key in entry if key.startswith("loss_task/")})
    for key, label in [("loss", "all"), *((name, name.removeprefix("loss_task/")) for name in names)]:
        points = [(entry["step"], entry[key]) for entry in history if key in entry]
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=label, linewidth=2 if key == "loss" else 1)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss per supervised token")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _save(fig, path)
