"""Pictures of an evaluation run (matplotlib, Agg backend: no display needed).

* ``timeline.png`` -- for a sample of queries (the first ``max_queries`` with a readable video), one row each:
  the ground-truth intervals (green) over the predicted ones (blue, the first one darker: it is the one R@1
  scores), on a time axis in seconds with the video's end marked; the row label shows the query id and the IoU
  of the first prediction. Dense captioning shows every segment of a video.
* ``iou_histogram.png`` -- grounding and moment retrieval: the distribution of the first prediction's IoU (hull
  form, best GT window) over all queries, unreadable answers at 0, with the 0.3 / 0.5 / 0.7 thresholds marked.
* ``saliency.png`` -- highlights and summarization: per query, the mean annotator score per 2-s clip (green)
  against the predicted saliency (blue), each scaled to its own maximum so the shapes compare.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt  # noqa: E402

from vidllm.eval.benchmarks import GroundTruth, Query, best_iou, gt_intervals, gt_saliency  # noqa: E402

GT_COLOR = "#2a9d4b"
PRED_COLOR = "#2f6db5"
THRESHOLDS = (0.3, 0.5, 0.7)


def _pred_intervals(line: Mapping | None) -> list[tuple[float, float]]:
    parsed = (line or {}).get("parsed") or {}
    if "intervals" in parsed:
        return [tuple(i) for i in parsed["intervals"]]
    return [(c[0], c[1]) for c in parsed.get("captions") or []]


def plot_timelines(path: Path, queries: Sequence[Query], lines: Mapping[str, Mapping]) -> Path:
    """Ground truth vs predicted intervals, one row per query (see the module docstring)."""
    rows = len(queries)
    fig, ax = plt.subplots(figsize=(10, 0.55 * rows + 1.2))
    for row, q in enumerate(queries):
        y = rows - 1 - row
        line = lines.get(q.id)
        for s, e in gt_intervals(q.entry):
            ax.broken_barh([(s, max(e - s, 0.05))], (y + 0.05, 0.4), color=GT_COLOR)
        preds = _pred_intervals(line)
        for k, (s, e) in enumerate(preds):
            ax.broken_barh([(s, max(e - s, 0.05))], (y - 0.45, 0.4), color=PRED_COLOR, alpha=1.0 if k == 0 else 0.45)
        end = (line or {}).get("video_duration") or q.entry.duration
        if end:
            ax.plot([end, end], [y - 0.5, y + 0.5], color="0.5", linewidth=0.8)
        status = (line or {}).get("status", "not run")
        iou = f"IoU {best_iou(preds[0], gt_intervals(q.entry)):.2f}" if preds and q.task == "mr" else status
        ax.text(-0.01, y, f"{q.id}  {iou}", transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlabel("seconds")
    ax.set_title("ground truth (green, upper) vs prediction (blue, lower; first one darker)", fontsize=9)
    fig.subplots_adjust(left=0.22)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_iou_histogram(path: Path, queries: Sequence[Query], lines: Mapping[str, Mapping]) -> Path:
    """Histogram of the first prediction's IoU over the ``mr`` queries (unreadable answers at 0)."""
    ious = []
    for q in queries:
        preds = _pred_intervals(lines.get(q.id))
        ious.append(best_iou(preds[0], gt_intervals(q.entry)) if preds else 0.0)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(ious, bins=20, range=(0, 1), color=PRED_COLOR, edgecolor="white")
    for t in THRESHOLDS:
        ax.axvline(t, color="0.3", linestyle="--", linewidth=0.8)
        ax.text(t, 1.0, f" {t}", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
    ax.set_xlabel("IoU of the first predicted interval (hull form)")
    ax.set_ylabel("queries")
    ax.set_title(f"{len(ious)} queries, mean IoU {sum(ious) / max(len(ious), 1):.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_saliency(path: Path, queries: Sequence[Query], lines: Mapping[str, Mapping]) -> Path:
    """Annotated vs predicted saliency per 2-s clip, one panel per query."""
    cols = 2
    rows = max(math.ceil(len(queries) / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.1 * rows), squeeze=False)
    for ax in axes.flat[len(queries) :]:
        ax.axis("off")
    for ax, q in zip(axes.flat, queries):
        gt = gt_saliency(q.entry) or []
        pred = ((lines.get(q.id) or {}).get("parsed") or {}).get("saliency") or [0.0] * len(gt)
        x = [2 * i + 1 for i in range(max(len(gt), len(pred)))]
        for values, color, label in ((gt, GT_COLOR, "annotated"), (pred, PRED_COLOR, "predicted")):
            top = max(values, default=0) or 1.0
            ax.plot(x[: len(values)], [v / top for v in values], color=color, label=label, linewidth=1.2)
        status = (lines.get(q.id) or {}).get("status", "not run")
        ax.set_title(f"{q.id} ({status}): {(q.entry.query or '')[:60]}", fontsize=7)
        ax.set_ylim(-0.05, 1.1)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.supxlabel("seconds (clip centres)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_plots(
    folder: str | Path,
    gt: GroundTruth,
    queries: Sequence[Query],
    lines: Mapping[str, Mapping],
    *,
    max_queries: int = 12,
) -> list[Path]:
    """Write the plots that fit the run's tasks to ``folder``.

    Args:
        folder: Output folder (created).
        gt: The run's ground truth.
        queries: The run's queries.
        lines: Sample lines by query id.
        max_queries: Queries shown in the timeline and saliency plots (the first ones with an answer).

    Returns:
        The PNG files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    interval_queries = [q for q in queries if q.task in ("mr", "dvc")]
    saliency_queries = [q for q in queries if q.task in ("vhd", "vs")]
    if interval_queries:
        shown = _sample(interval_queries, lines, max_queries)
        written.append(plot_timelines(folder / "timeline.png", shown, lines))
    mr = [q for q in queries if q.task == "mr"]
    if mr:
        written.append(plot_iou_histogram(folder / "iou_histogram.png", mr, lines))
    if saliency_queries:
        written.append(plot_saliency(folder / "saliency.png", _sample(saliency_queries, lines, max_queries), lines))
    return written


def _sample(queries: Sequence[Query], lines: Mapping[str, Mapping], n: int) -> list[Query]:
    """The first ``n`` queries with an answer, then failed ones if there are not enough (deterministic)."""
    answered = [q for q in queries if (lines.get(q.id) or {}).get("answer") is not None]
    ids = {q.id for q in answered}
    return (answered + [q for q in queries if q.id not in ids])[:n]
