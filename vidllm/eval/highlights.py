"""Highlight detection on QVHighlights, scored as TimeChat's ``metrics/vhd/eval_vhd.py`` scores it.

The same math is moment_detr's ``standalone_eval`` highlight part, so :mod:`vidllm.eval.qvhl` reuses it.
``docs/scoring-conventions.md`` section 2 describes every step; in short, per query:

- the GT is a ``(int(duration / 2), 3)`` grid of annotator scores 0-4 per 2-s clip, zero outside
  ``relevant_clip_ids``, binarised per annotator at >= 2 (Fair), >= 3 (Good) or >= 4 (VeryGood);
- HIT@1 looks at the first argmax of the raw prediction list and takes the best of the 3 annotators there;
- AP is computed per annotator column on the prediction truncated or zero-padded to the clip count, with
  sklearn's ``precision_recall_curve`` points, float32 recall, interpolated precision and a plain mean over the
  points where recall changes (re-implemented here in numpy, so scikit-learn is not needed at run time).

Both numbers are ``100 * mean`` over queries (over query x annotator for mAP), rounded to 2 decimals.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_json_or_jsonl

logger = logging.getLogger(__name__)

CLIP_SECONDS = 2
NUM_ANNOTATORS = 3
# (name in the metric key, lowest annotator score that counts as a highlight)
LEVELS: tuple[tuple[str, int], ...] = (("Fair", 2), ("Good", 3), ("VeryGood", 4))
MAX_DURATION = 24 * 3600.0
"""Longest GT ``duration`` accepted (seconds): a day of 2-s clips is 43,200 rows; a typo such as 1e9 would otherwise
ask for a grid of gigabytes. QVHighlights videos are 150 s."""
HL_KEYS: tuple[str, ...] = tuple(f"HL-min-{name}-{metric}" for name, _ in LEVELS for metric in ("mAP", "Hit1"))


def fmt2(value: float) -> float:
    """Round as the official scripts do: ``float(f"{value:.2f}")`` (rounds the exact binary value)."""
    return float(f"{value:.2f}")


# ---------------------------------------------------------------------------------------------------------------
# The math, on arrays


def gt_clip_grid(duration: float, relevant_clip_ids: Sequence[int], saliency_scores: Sequence[Sequence[float]]):
    """Annotator scores per 2-s clip.

    Args:
        duration: Video length in seconds; the grid has ``int(duration / 2)`` rows (a trailing partial clip is cut).
        relevant_clip_ids: ``(K,)`` row indices of the annotated clips.
        saliency_scores: ``(K, 3)`` scores 0-4 of the 3 annotators for those clips.

    Returns:
        ``(int(duration / 2), 3)`` float array, zeros where no clip was annotated.
    """
    grid = np.zeros((int(duration / CLIP_SECONDS), NUM_ANNOTATORS))
    if len(relevant_clip_ids):
        grid[np.asarray(relevant_clip_ids, dtype=np.int64)] = np.asarray(saliency_scores, dtype=np.float64)
    return grid


def binarize(grid: np.ndarray, min_score: int) -> np.ndarray:
    """``(C, 3)`` 0/1 float labels: each annotator's own score >= ``min_score`` (scores are not averaged)."""
    return (grid >= min_score).astype(np.float64)


def hit_at_one(scores: np.ndarray, labels: np.ndarray) -> float:
    """1.0 if the top-scored clip is a highlight for at least one annotator, else 0.0.

    Args:
        scores: ``(N,)`` raw prediction, neither truncated nor padded; ties go to the first maximum
            (``np.argmax``). An index past the GT grid scores 0. An empty list scores 0 (the official script
            crashes on it).
        labels: ``(C, 3)`` binary labels.
    """
    if len(scores) == 0:
        return 0.0
    top = int(np.argmax(scores))
    return float(labels[top].max()) if top < len(labels) else 0.0


def fit_length(scores: np.ndarray, num_clips: int) -> np.ndarray:
    """Cut ``(N,)`` scores to ``num_clips`` or pad them with zeros up to it (padded zeros tie with real zeros)."""
    if len(scores) >= num_clips:
        return scores[:num_clips]
    padded = np.zeros(num_clips)
    padded[: len(scores)] = scores
    return padded


def precision_recall_curves(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of ``sklearn.metrics.precision_recall_curve`` (default arguments) for several label columns.

    Args:
        labels: ``(N, K)`` 0/1 labels, every column with at least one 1.
        scores: ``(N,)`` finite scores, shared by the columns. Equal scores form one threshold.

    Returns:
        ``precision (T+1, K)``, ``recall (T+1, K)``, ``thresholds (T,)`` for the ``T`` distinct scores, ordered by
        increasing threshold (so decreasing recall), with the final point ``precision=1, recall=0`` appended. Each
        element comes from the same arithmetic as sklearn's, so the values are identical, not just close.
    """
    order = np.argsort(scores, kind="mergesort")[::-1]
    sorted_scores = scores[order]
    # Last index of each run of equal scores: everything scored >= that value is predicted positive.
    ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tps = np.cumsum(labels[order], axis=0, dtype=np.float64)[ends]  # (T, K)
    fps = 1 + ends[:, None] - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    ones = np.ones((1, labels.shape[1]))
    return np.vstack([precision[::-1], ones]), np.vstack([recall[::-1], 0 * ones]), sorted_scores[ends][::-1]


def precision_recall_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-column :func:`precision_recall_curves`: ``precision (T+1,)``, ``recall (T+1,)``, ``thresholds (T,)``."""
    precision, recall, thresholds = precision_recall_curves(np.asarray(labels)[:, None], scores)
    return precision[:, 0], recall[:, 0], thresholds


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP of one annotator column as the official ``get_ap`` computes it.

    Args:
        labels: ``(C,)`` 0/1 labels of one annotator.
        scores: ``(C,)`` predicted scores, already fitted to ``C`` (:func:`fit_length`).

    A constant column gives 0 (all negative) or 1 (all positive) without looking at the scores. Otherwise:
    interpolated precision (running max from the full-recall end) averaged over the points where the float32
    recall changes. The mean is plain, not recall-weighted: a tie group adding several positives is one term.
    """
    return float(average_precisions(np.asarray(labels)[:, None], scores)[0])


def average_precisions(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """:func:`average_precision` of several label columns against the same scores, sorting the scores once.

    Args:
        labels: ``(C, K)`` 0/1 labels, e.g. one column per (level, annotator).
        scores: ``(C,)`` predicted scores, already fitted to ``C``.

    Returns:
        ``(K,)`` AP per column, each bit-identical to the one-column computation.
    """
    aps = np.zeros(labels.shape[1])
    if len(labels) == 0:
        return aps
    constant = np.all(labels == labels[:1], axis=0)
    aps[constant] = labels[0, constant] != 0
    varying = np.flatnonzero(~constant)
    if len(varying) == 0:
        return aps
    precision, recall, _ = precision_recall_curves(labels[:, varying], scores)
    recall = recall.astype(np.float32)
    precision = np.maximum.accumulate(precision, axis=0)  # interpolate: best precision at this recall or more
    changes = np.diff(recall, axis=0) != 0  # (T, V): point i is kept when recall changes after it
    for j, col in enumerate(varying):
        # One mean per column over the selected points only: a masked sum over all rows would regroup numpy's
        # pairwise summation and could move the last bit.
        aps[col] = np.mean(precision[:-1, j][changes[:, j]])
    return aps


@dataclass
class HighlightQuery:
    """One evaluated query: the raw predicted scores ``(N,)`` and the GT annotator grid ``(C, 3)``."""

    qid: Any
    scores: np.ndarray
    grid: np.ndarray


def highlight_metrics(queries: Sequence[HighlightQuery]) -> dict[str, float]:
    """``HL-min-{Fair,Good,VeryGood}-{mAP,Hit1}`` over ``queries`` (in that order; it sets the float sums).

    mAP = 100 x the mean AP over all (query, annotator) pairs; Hit1 = 100 x the mean HIT@1 over queries. Both are
    rounded to 2 decimals.
    """
    if not queries:
        raise ValueError("no query to score")
    hits = np.zeros((len(queries), len(LEVELS)))
    aps = np.zeros((len(queries), len(LEVELS), NUM_ANNOTATORS))
    for i, q in enumerate(queries):
        # All levels' label columns side by side, (C, levels x annotators), so the scores are sorted once.
        labels = np.hstack([binarize(q.grid, min_score) for _, min_score in LEVELS])
        aps[i] = average_precisions(labels, fit_length(q.scores, len(q.grid))).reshape(len(LEVELS), NUM_ANNOTATORS)
        for k in range(len(LEVELS)):
            hits[i, k] = hit_at_one(q.scores, labels[:, k * NUM_ANNOTATORS : (k + 1) * NUM_ANNOTATORS])
    metrics: dict[str, float] = {}
    for k, (name, _) in enumerate(LEVELS):
        # The mean over a contiguous (queries, 3) block, the array the official script averages.
        metrics[f"HL-min-{name}-mAP"] = fmt2(100 * np.mean(np.ascontiguousarray(aps[:, k])))
        metrics[f"HL-min-{name}-Hit1"] = fmt2(100 * np.mean(hits[:, k]))
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# Reading and checking records (shared with vidllm.eval.qvhl)


def is_number(value: Any) -> bool:
    """A JSON number that is finite (``bool`` is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def record_qid(record: Any, index: int, path: PathLike | None) -> Any:
    """The ``qid`` of ``record`` (the ``index``-th of its file); a :class:`DataError` if it has none usable."""
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}", path=path, record=f"item {index}")
    if "qid" not in record:
        raise DataError("no 'qid'", path=path, record=f"item {index}", field="qid")
    qid = record["qid"]
    if not isinstance(qid, (int, str)) or isinstance(qid, bool):
        raise DataError(f"qid must be an int or a string, got {qid!r}", path=path, record=f"item {index}", field="qid")
    return qid


def number_array(record: dict, key: str, *, qid: Any, path: PathLike | None) -> np.ndarray:
    """``record[key]`` as a float ``(N,)`` array; a :class:`DataError` unless it is a list of finite numbers."""
    if key not in record:
        raise DataError(f"no {key!r}", path=path, record=qid, field=key)
    values = record[key]
    if not isinstance(values, list):
        raise DataError(f"expected a list of numbers, got {type(values).__name__}", path=path, record=qid, field=key)
    for i, value in enumerate(values):
        if not is_number(value):
            raise DataError(f"item {i} is {value!r}, not a finite number", path=path, record=qid, field=key)
    return np.asarray(values, dtype=np.float64)


def as_record_list(records: Any, path: PathLike | None, what: str) -> list:
    """Check that a loaded file is a list of records."""
    if not isinstance(records, list):
        raise DataError(f"expected a list of {what} records, got {type(records).__name__}", path=path)
    return records


def highlight_gt_grid(record: dict, *, qid: Any, path: PathLike | None) -> np.ndarray:
    """The ``(C, 3)`` annotator grid of one QVHighlights GT record, after checking its fields."""
    duration = record.get("duration")
    if not is_number(duration):
        raise DataError(f"expected a finite number, got {duration!r}", path=path, record=qid, field="duration")
    if duration > MAX_DURATION:
        raise DataError(
            f"duration {duration} s is longer than a day ({MAX_DURATION:g} s); expected the video's length in "
            "seconds (not milliseconds or frames)",
            path=path,
            record=qid,
            field="duration",
        )
    num_clips = int(duration / CLIP_SECONDS)
    if num_clips < 1:
        raise DataError(f"duration {duration} s is shorter than one 2-s clip", path=path, record=qid, field="duration")
    ids = record.get("relevant_clip_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DataError(f"expected a list of ints, got {ids!r}", path=path, record=qid, field="relevant_clip_ids")
    bad = [i for i in ids if not 0 <= i < num_clips]
    if bad:
        raise DataError(
            f"clip id {bad[0]} is outside the {num_clips} clips of a {duration}-s video",
            path=path,
            record=qid,
            field="relevant_clip_ids",
        )
    scores = record.get("saliency_scores")
    ok = isinstance(scores, list) and len(scores) == len(ids)
    ok = ok and all(isinstance(r, list) and len(r) == NUM_ANNOTATORS and all(map(is_number, r)) for r in scores)
    if not ok:
        raise DataError(
            f"expected one [a, b, c] row of {NUM_ANNOTATORS} annotator scores per relevant clip id ({len(ids)})",
            path=path,
            record=qid,
            field="saliency_scores",
        )
    return gt_clip_grid(duration, ids, scores)


def count_duplicates(qids: Sequence[Any]) -> int:
    """Records beyond the first for each qid."""
    return len(qids) - len(set(qids))


def duplicate_gt_note(n: int) -> str:
    """The note on ground-truth qids given more than once (shared by the highlight scorers)."""
    return f"{n} duplicate ground-truth records: only the last one per qid is scored. Give every query its own qid."


def qid_type_hint(pred_qids: set, gt_qids: set) -> str | None:
    """A note when the predictions' qids match the GT's only as strings (``"2579"`` vs ``2579``)."""
    as_str = {str(q) for q in gt_qids}
    if pred_qids and not pred_qids & gt_qids and any(str(q) in as_str for q in pred_qids):
        return (
            "qids are compared by value and type: '2579' (string) does not match 2579 (int), as in the official script"
        )
    return None


# ---------------------------------------------------------------------------------------------------------------
# TimeChat-style scoring


def score(
    predictions: list[dict],
    gt: list[dict],
    *,
    pred_path: PathLike | None = None,
    gt_path: PathLike | None = None,
) -> ScoreReport:
    """Score TimeChat-format highlight predictions against QVHighlights GT records, as ``eval_vhd.py`` does.

    Args:
        predictions: ``[{"qid", "pred_saliency_scores": [one float per 2-s clip], ...}]``.
        gt: QVHighlights records ``{"qid", "duration", "relevant_clip_ids", "saliency_scores", ...}``.
        pred_path, gt_path: Only used to name the file in error messages.

    Only qids present in both are scored (TimeChat's ``match_number=False``); the rest are counted. With duplicate
    qids the last record wins, in either list (both counted and noted).

    Returns:
        A :class:`ScoreReport` with :data:`HL_KEYS` and counts ``gt, predicted, evaluated, missing, extra,
        duplicates, duplicate_gt, empty``.

    Raises:
        DataError: A record is malformed, or no prediction qid is in the GT.
    """
    predictions = as_record_list(predictions, pred_path, "prediction")
    gt = as_record_list(gt, gt_path, "ground-truth")
    pred_qids = [record_qid(r, i, pred_path) for i, r in enumerate(predictions)]
    gt_qids = [record_qid(r, i, gt_path) for i, r in enumerate(gt)]
    by_qid = dict(zip(pred_qids, predictions, strict=True))  # insertion order = first occurrence, value = last record
    gt_by_qid = dict(zip(gt_qids, gt, strict=True))
    shared = [q for q in by_qid if q in gt_by_qid]
    if not shared:
        hint = qid_type_hint(set(by_qid), set(gt_by_qid))
        raise DataError("no prediction qid is in the ground truth" + (f" ({hint})" if hint else ""), path=pred_path)

    queries = []
    for qid in shared:
        scores = number_array(by_qid[qid], "pred_saliency_scores", qid=qid, path=pred_path)
        queries.append(HighlightQuery(qid, scores, highlight_gt_grid(gt_by_qid[qid], qid=qid, path=gt_path)))

    counts = {
        "gt": len(gt_by_qid),
        "predicted": len(by_qid),
        "evaluated": len(shared),
        "missing": sum(q not in by_qid for q in gt_by_qid),
        "extra": sum(q not in gt_by_qid for q in by_qid),
        "duplicates": count_duplicates(pred_qids),
        "duplicate_gt": count_duplicates(gt_qids),
        "empty": sum(len(q.scores) == 0 for q in queries),
    }
    notes = highlight_notes(counts)
    if counts["missing"]:
        notes.insert(
            0,
            f"{counts['missing']} GT queries have no prediction and are left out of every mean, as TimeChat's "
            "eval_vhd.py does (match_number=False); they are not scored 0.",
        )
    if counts["extra"]:
        notes.append(f"{counts['extra']} predicted qids are not in the ground truth and are ignored.")
    hint = qid_type_hint({q for q in by_qid if q not in gt_by_qid}, set(gt_by_qid))
    if hint:
        notes.append(hint)
    if counts["duplicates"]:
        notes.append(f"{counts['duplicates']} duplicate prediction records: the last one per qid is scored.")
    if counts["duplicate_gt"]:
        notes.append(duplicate_gt_note(counts["duplicate_gt"]))
    return ScoreReport(task="hd", metrics=highlight_metrics(queries), counts=counts, notes=notes)


def highlight_notes(counts: dict[str, int]) -> list[str]:
    """The note on empty saliency lists, shared by both scorers."""
    if not counts.get("empty"):
        return []
    return [
        f"{counts['empty']} queries have an empty pred_saliency_scores list, which the official script crashes on: "
        "their HIT@1 counts 0 and their AP is taken on all-zero scores."
    ]


def score_files(pred_path: PathLike, gt_path: PathLike) -> ScoreReport:
    """:func:`score` on a prediction file (JSON list, or JSONL) and a QVHighlights GT file (JSONL, or JSON list)."""
    predictions = read_json_or_jsonl(pred_path)
    gt = read_json_or_jsonl(gt_path)
    report = score(predictions, gt, pred_path=pred_path, gt_path=gt_path)
    logger.info("scored %d highlight queries from %s", report.counts["evaluated"], pred_path)
    return report
