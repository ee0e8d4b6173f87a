"""Video summarization on TVSum: top-5 mAP as UMT and UniVTG report it, and the keyshot summary F1.

Both take, per video, the predicted saliency per 2-s clip and the ground-truth clip scores of every annotator (TVSum
has 20, scores 1-5; ``vidllm convert tvsum`` writes QVHighlights-style lines with one ``saliency_scores`` column per
annotator and every clip relevant).

**Top-5 mAP** (TencentARC/UMT ``datasets/tvsum.py`` ``TVSum.evaluate``; the same code is showlab/UniVTG
``main/dataset.py`` ``DatasetHL.evaluate``), for each annotator ``a`` and each video:

1. labels: clip ``i`` is positive when the annotator's score is strictly greater than the *lower* median of their
   scores in that video (``torch.median`` returns the lower of the two middle values for an even count);
2. rank the clips by predicted score, highest first, and keep the labels of the first ``k = 5``;
3. ``n`` = positives among those 5; if ``n == 0`` the video's AP is 0; otherwise walk the 5 with
   ``hits += label; rec = hits / n; prc = hits / (j + 1); ap += (rec - rec_prev) * (prc + prc_prev) / 2`` starting
   from ``rec_prev = 0, prc_prev = 1`` (trapezoids over recall *within the top 5*, not over all positives).

The annotator's mAP is the mean AP over videos; top-5 mAP is the mean over annotators (x100 here, as the papers
print it; UMT rounds the fraction to 5 decimals). UMT and UniVTG report it per category (5 test videos each) and
their average; with every category the same size that average equals the mean over all videos, reported here as
``top5_mAP``; per-category values are added when the GT lines carry a ``category``/``domain``.
The official ranking uses ``torch.argsort(descending=True)``, whose order among equal scores is not specified; here
ties go to the earlier clip (stable). Language models often give many clips the same score, so tie order matters:
this choice is deterministic and documented, the official one is neither.

**Summary F1** (the keyshot protocol of Zhang et al. 2016, as in KaiyangZhou/pytorch-vsumm-reinforce
``vsum_tools.py``; TVSum uses the average over annotators):

1. the video is cut into shots (here: each 2-s clip is a shot unless the GT line gives ``shots`` as
   ``[[start_s, end_s], ...]``); a shot's value is the mean score of its clips, its weight its clip count;
2. a 0/1 knapsack keeps the most valuable shots within ``floor(0.15 * clips)`` clips (ties: earlier shots) -- once
   with the predicted scores (the machine summary), once per annotator with their scores (the user summaries);
3. per annotator ``P = overlap / |machine|``, ``R = overlap / |user|``, ``F = 2PR / (P + R)`` (0 without overlap);
   the video's F1 is the mean over annotators, the benchmark's the mean over videos (x100).

Published TVSum F1 numbers use KTS shot boundaries from the ``eccv16_dataset_tvsum_google_pool5.h5`` release and
per-frame scores; with 2-s clips as shots the numbers are comparable between methods scored here, not with those.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidllm.eval.highlights import as_record_list, count_duplicates, is_number, number_array, record_qid
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_json_or_jsonl

CLIP_SECONDS = 2.0
TOP_K = 5
SUMMARY_PROPORTION = 0.15
MAX_DURATION = 4 * 3600.0
"""Longest GT ``duration`` accepted (seconds). The keyshot knapsack costs clips x 15% clips cells: 4 hours of 2-s
clips is 60 MB, a typo such as 1e9 would be exabytes. TVSum videos are at most 11 minutes."""


# ------------------------------------------------------------------------------------------------------- top-5 mAP


def lower_median(values: np.ndarray) -> float:
    """The lower of the two middle values for an even count, the middle one for an odd count (``torch.median``)."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    return float(ordered[(len(ordered) - 1) // 2])


def rank_clips(scores: np.ndarray) -> np.ndarray:
    """Clip indices by descending score; equal scores keep clip order (stable)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def top_k_ap(scores: np.ndarray, annotator: np.ndarray, k: int = TOP_K) -> float:
    """One video's AP for one annotator, as UMT / UniVTG compute it (see the module docstring).

    Args:
        scores: ``(C,)`` predicted saliency per clip.
        annotator: ``(C,)`` the annotator's scores per clip.
        k: How many top-ranked clips count.

    Returns:
        The AP in [0, 1].
    """
    labels = (np.asarray(annotator, dtype=np.float64) > lower_median(annotator)).astype(np.float64)
    top = labels[rank_clips(scores)][:k]
    num_gt = float(top.sum())
    if num_gt == 0:
        return 0.0
    hits = ap = rec = 0.0
    prc = 1.0
    for j, gt in enumerate(top):
        hits += gt
        new_rec, new_prc = hits / num_gt, hits / (j + 1)
        ap += (new_rec - rec) * (prc + new_prc) / 2
        rec, prc = new_rec, new_prc
    return ap


def top_k_map(videos: Sequence[tuple[np.ndarray, np.ndarray]], k: int = TOP_K) -> float:
    """Mean over annotators of the mean over videos of :func:`top_k_ap`.

    Args:
        videos: ``(scores (C,), annotators (C, A))`` per video; every video has the same ``A``.
        k: How many top-ranked clips count.

    Returns:
        The mAP in [0, 1].
    """
    if not videos:
        raise ValueError("no video to score")
    num_annotators = videos[0][1].shape[1]
    per_annotator = []
    for a in range(num_annotators):
        aps = [top_k_ap(scores, grid[:, a], k) for scores, grid in videos]
        per_annotator.append(sum(aps) / len(aps))
    return sum(per_annotator) / len(per_annotator)


# ------------------------------------------------------------------------------------------------------ summary F1


def knapsack(values: Sequence[float], weights: Sequence[int], capacity: int) -> list[int]:
    """Indices of the most valuable items whose weights fit in ``capacity`` (0/1 knapsack, dynamic programming).

    Among selections of equal value, earlier items are preferred: an item is taken only when it strictly improves
    the best value.

    Args:
        values: Value of each item.
        weights: Positive integer weight of each item.
        capacity: Total weight allowed (>= 0).

    Returns:
        The chosen indices, ascending.
    """
    n = len(values)
    best = np.zeros((n + 1, capacity + 1))
    for i in range(1, n + 1):
        w, v = int(weights[i - 1]), float(values[i - 1])
        best[i] = best[i - 1]
        if w <= capacity:
            take = best[i - 1, : capacity + 1 - w] + v
            best[i, w:] = np.maximum(best[i - 1, w:], take)
    chosen, room = [], capacity
    for i in range(n, 0, -1):
        if best[i, room] != best[i - 1, room]:
            chosen.append(i - 1)
            room -= int(weights[i - 1])
    return sorted(chosen)


def keyshot_summary(
    scores: np.ndarray, shots: Sequence[tuple[int, int]], proportion: float = SUMMARY_PROPORTION
) -> np.ndarray:
    """The 0/1 per-clip summary that keeps the best shots within ``floor(proportion * clips)`` clips.

    Args:
        scores: ``(C,)`` scores per clip.
        shots: ``[first_clip, end_clip)`` ranges covering the clips.
        proportion: Share of the clips the summary may keep.

    Returns:
        ``(C,)`` float array of 0/1.
    """
    values = [float(np.mean(scores[a:b])) for a, b in shots]
    weights = [b - a for a, b in shots]
    summary = np.zeros(len(scores))
    for i in knapsack(values, weights, int(math.floor(len(scores) * proportion))):
        a, b = shots[i]
        summary[a:b] = 1.0
    return summary


def summary_f1(machine: np.ndarray, user: np.ndarray) -> float:
    """F1 of two 0/1 summaries (0 when they do not overlap)."""
    overlap = float((machine * user).sum())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / machine.sum(), overlap / user.sum()
    return 2 * precision * recall / (precision + recall)


def video_f1(scores: np.ndarray, grid: np.ndarray, shots: Sequence[tuple[int, int]]) -> float:
    """Mean over annotators of the F1 between the predicted and the annotator's keyshot summaries."""
    machine = keyshot_summary(scores, shots)
    return float(np.mean([summary_f1(machine, keyshot_summary(grid[:, a], shots)) for a in range(grid.shape[1])]))


def clip_shots(num_clips: int, shots_seconds: Sequence[Sequence[float]] | None = None) -> list[tuple[int, int]]:
    """Shots as clip ranges: one per clip, or from ``[[start_s, end_s], ...]`` snapped to the 2-s clip grid."""
    if not shots_seconds:
        return [(i, i + 1) for i in range(num_clips)]
    out = []
    for start, end in shots_seconds:
        a = min(max(int(math.floor(start / CLIP_SECONDS)), 0), num_clips)
        b = min(max(int(math.ceil(end / CLIP_SECONDS)), a + 1), num_clips)
        if a < b:
            out.append((a, b))
    return out


# --------------------------------------------------------------------------------------------------------- scoring


def _grid(record: dict, qid: Any, path: PathLike | None) -> np.ndarray:
    duration = record.get("duration")
    if not is_number(duration) or duration < CLIP_SECONDS:
        raise DataError(f"expected a duration of at least 2 s, got {duration!r}", path=path, record=qid,
                        field="duration")  # fmt: skip
    if duration > MAX_DURATION:
        raise DataError(f"duration {duration} s is longer than {MAX_DURATION:g} s (4 hours); expected the video's "
                        "length in seconds (not milliseconds or frames)", path=path, record=qid,
                        field="duration")  # fmt: skip
    num_clips = int(duration / CLIP_SECONDS)
    ids, rows = record.get("relevant_clip_ids"), record.get("saliency_scores")
    ok = isinstance(ids, list) and isinstance(rows, list) and len(ids) == len(rows) and rows
    ok = ok and all(isinstance(r, list) and r and len(r) == len(rows[0]) and all(map(is_number, r)) for r in rows)
    if not ok:
        raise DataError("expected one row of annotator scores (same length) per relevant clip id", path=path,
                        record=qid, field="saliency_scores")  # fmt: skip
    grid = np.zeros((num_clips, len(rows[0])))
    for i, row in zip(ids, rows):
        if isinstance(i, int) and 0 <= i < num_clips:
            grid[i] = row
    return grid


def _fit(scores: np.ndarray, num_clips: int) -> np.ndarray:
    out = np.zeros(num_clips)
    out[: min(len(scores), num_clips)] = scores[:num_clips]
    return out


def score(
    predictions: list[dict],
    gt: list[dict],
    *,
    pred_path: PathLike | None = None,
    gt_path: PathLike | None = None,
) -> ScoreReport:
    """Score per-clip saliency predictions of whole videos (TVSum).

    Args:
        predictions: ``[{"qid", "pred_saliency_scores": [one per 2-s clip]}, ...]`` (TimeChat's highlight form).
        gt: Lines ``{"qid", "duration", "relevant_clip_ids", "saliency_scores": [[one per annotator], ...]}``,
            optionally ``category`` (or ``domain``) and ``shots``.
        pred_path, gt_path: Only used to name the file in error messages.

    A GT video without a prediction scores with all-zero saliency (counted as ``missing``); a prediction longer or
    shorter than the clip grid is cut or zero-padded (counted as ``resized``).

    Returns:
        Metrics ``top5_mAP`` and ``F1`` (percent), ``top5_mAP/<category>`` per category when known; counts
        ``videos, missing, extra, resized, duplicates, duplicate_gt``.

    Raises:
        DataError: A malformed record, or annotators of different counts across videos.
    """
    predictions = as_record_list(predictions, pred_path, "prediction")
    gt = as_record_list(gt, gt_path, "ground-truth")
    pred_qids = [record_qid(r, i, pred_path) for i, r in enumerate(predictions)]
    by_qid = dict(zip(pred_qids, predictions, strict=True))  # the last record of a qid given twice
    videos, f1s, categories = [], [], []
    missing = resized = 0
    for i, record in enumerate(gt):
        qid = record_qid(record, i, gt_path)
        grid = _grid(record, qid, gt_path)
        if videos and grid.shape[1] != videos[0][1].shape[1]:
            raise DataError(f"{grid.shape[1]} annotators here, {videos[0][1].shape[1]} in the first video",
                            path=gt_path, record=qid, field="saliency_scores")  # fmt: skip
        if qid in by_qid:
            raw = number_array(by_qid[qid], "pred_saliency_scores", qid=qid, path=pred_path)
            resized += len(raw) != len(grid)
        else:
            raw = np.zeros(0)
            missing += 1
        scores = _fit(raw, len(grid))
        videos.append((scores, grid))
        f1s.append(video_f1(scores, grid, clip_shots(len(grid), record.get("shots"))))
        categories.append(record.get("category", record.get("domain")))
    if not videos:
        raise DataError("the ground truth has no video", path=gt_path)
    metrics = {"top5_mAP": 100 * top_k_map(videos), "F1": 100 * float(np.mean(f1s))}
    if all(isinstance(c, str) for c in categories):
        for name in dict.fromkeys(categories):
            members = [v for v, c in zip(videos, categories) if c == name]
            metrics[f"top5_mAP/{name}"] = 100 * top_k_map(members)
    gt_list = [record_qid(r, i, gt_path) for i, r in enumerate(gt)]
    gt_qids = set(gt_list)
    counts = {"videos": len(videos), "missing": missing, "extra": sum(q not in gt_qids for q in by_qid),
              "resized": resized, "duplicates": count_duplicates(pred_qids),
              "duplicate_gt": count_duplicates(gt_list)}  # fmt: skip
    notes = [
        "top-5 mAP as UMT/UniVTG (labels > lower median per annotator, AP within the top 5); ties in the predicted "
        "ranking go to the earlier clip.",
        "F1: knapsack keyshots at 15% with 2-s clips as shots (unless the GT gives shots); not KTS shots.",
    ]
    if missing:
        notes.append(f"{missing} videos had no prediction and were scored with all-zero saliency.")
    if counts["duplicates"]:
        notes.append(f"{counts['duplicates']} duplicate prediction records: the last one per qid is scored.")
    if counts["duplicate_gt"]:
        notes.append(f"{counts['duplicate_gt']} ground-truth videos are listed more than once and count once per "
                     "listing in every mean; give every video its own qid.")  # fmt: skip
    return ScoreReport("vs", metrics, counts, notes)


def score_files(pred_path: PathLike, gt_path: PathLike) -> ScoreReport:
    """:func:`score` on a prediction file (JSON list or JSONL) and a GT file (JSONL or JSON list)."""
    return score(read_json_or_jsonl(pred_path), read_json_or_jsonl(gt_path), pred_path=pred_path, gt_path=gt_path)
