"""QVHighlights moment retrieval + highlight detection, scored as moment_detr's ``standalone_eval/eval.py`` does.

A submission is JSONL, one query per line::

    {"qid": 2579, "query": "...", "vid": "...",
     "pred_relevant_windows": [[start, end, score], ...], "pred_saliency_scores": [one float per 2-s clip]}

``docs/scoring-conventions.md`` section 3 describes the moment-retrieval part; the highlight part is
section 2 (:mod:`vidllm.eval.highlights`). In short:

- **mAP**: per query, the first 10 windows in list order, stably sorted by descending score, greedily matched to
  GT windows (each GT window once, visited in descending true-union IoU, hit when IoU >= t), VOC-2011 interpolated
  AP; averaged over queries per threshold t in 0.5, 0.55, ..., 0.95, and "average" = mean over thresholds.
- **R1@t**: the *first* window in list order against the GT window of highest true-union IoU, hit when its hull
  IoU >= t.
- **Length buckets** short (0, 10], middle (10, 30], long (30, 150] keep only the GT windows of that length and
  the queries that still have one; "full" keeps everything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidllm.eval.highlights import (
    HighlightQuery,
    as_record_list,
    count_duplicates,
    fmt2,
    highlight_gt_grid,
    highlight_metrics,
    highlight_notes,
    is_number,
    number_array,
    qid_type_hint,
    record_qid,
)
from vidllm.eval.iou import iou_hull, iou_union_matrix
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_json_or_jsonl

logger = logging.getLogger(__name__)

# np.linspace(0.5, 0.95, 10) rounded to 2 decimals, as the official keys '0.5', '0.55', ... '0.95'.
THRESHOLDS: tuple[float, ...] = tuple(float(f"{t:.2f}") for t in np.linspace(0.5, 0.95, 10))
MAX_PRED_WINDOWS = 10
# name, (min, max]: GT window lengths kept. "full" is special-cased to keep everything.
BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("short", 0, 10),
    ("middle", 10, 30),
    ("long", 30, 150),
    ("full", 0, 150),
)
MR_KEYS: tuple[str, ...] = (
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "MR-full-mAP@0.5",
    "MR-full-mAP@0.75",
    "MR-short-mAP",
    "MR-middle-mAP",
    "MR-long-mAP",
)


# ---------------------------------------------------------------------------------------------------------------
# Moment-retrieval math, on arrays


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """VOC-2011 all-point AP of ranked lists, one per row.

    Args:
        precision: ``(T, P)`` precision after each of ``P`` ranked predictions, one row per IoU threshold.
        recall: ``(T, P)`` recall after each prediction (non-decreasing along a row).

    Returns:
        ``(T,)`` AP: with sentinels (recall 0, precision 0) in front and (recall 1, precision 0) at the end,
        precision made non-increasing from the right, the sum of ``delta recall x precision`` where recall changes.
    """
    pad = np.zeros((len(precision), 1))
    mprec = np.hstack([pad, precision, pad])
    mrec = np.hstack([pad, recall, pad + 1])
    mprec = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
    changes = mrec[:, 1:] != mrec[:, :-1]
    terms = (mrec[:, 1:] - mrec[:, :-1]) * mprec[:, 1:]
    # Sum only the terms where recall changes, row by row: adding the zero terms too would regroup numpy's
    # pairwise summation and could move the last bit.
    return np.array([np.sum(row[keep]) for row, keep in zip(terms, changes, strict=True)])


def detection_ap(
    pred: np.ndarray, gt: np.ndarray, thresholds: Sequence[float] = THRESHOLDS, *, ties: list[int] | None = None
) -> np.ndarray:
    """AP of one query's windows at each IoU threshold, as moment_detr's ``compute_average_precision_detection``.

    Args:
        pred: ``(P, 3)`` windows ``[start, end, score]`` (already cut to the first 10).
        gt: ``(G, 2)`` GT windows, ``G >= 1``.
        thresholds: ``(T,)`` IoU thresholds.
        ties: When given, the query's tied TP/FP pairs summed over the thresholds are appended to it
            (:func:`vidllm.eval.tad.tied_tp_fp_pairs`).

    Returns:
        ``(T,)`` AP per threshold; all zeros when there is no prediction.
    """
    if len(pred) == 0:
        return np.zeros(len(thresholds))
    # Stable sort: windows with equal scores keep their list order (the official Python list.sort).
    pred = pred[np.argsort(-pred[:, 2], kind="stable")]
    ious = iou_union_matrix(pred[:, :2], gt)  # (P, G)
    tp = np.zeros((len(thresholds), len(pred)))
    matched = np.zeros((len(thresholds), len(gt)), dtype=bool)
    for p, row in enumerate(ious):
        # The same numpy argsort call as the official code, so ties between GT windows resolve identically.
        gt_order = np.argsort(row)[::-1].tolist()
        row = row.tolist()
        for t, thr in enumerate(thresholds):
            for g in gt_order:
                if row[g] < thr:  # the best unmatched window is below t: a false positive (NaN is not below)
                    break
                if matched[t, g]:
                    continue
                tp[t, p] = 1
                matched[t, g] = True
                break
    if ties is not None:
        from vidllm.eval.tad import tied_tp_fp_pairs

        ties.append(sum(tied_tp_fp_pairs(pred[:, 2].tolist(), row) for row in tp))
    fp = 1 - tp  # every prediction is exactly one of the two
    tp_sum = np.cumsum(tp, axis=1)
    fp_sum = np.cumsum(fp, axis=1)
    recall = tp_sum / float(len(gt))
    precision = tp_sum / (tp_sum + fp_sum)
    return interpolated_ap(precision, recall)


def best_gt_window(first: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The ``(2,)`` GT window of highest true-union IoU with ``first`` ``(2,)`` (the first one on ties; NaN wins)."""
    return gt[int(np.argmax(iou_union_matrix(first[None], gt)[0]))]


# ---------------------------------------------------------------------------------------------------------------
# Per-query data and the bucketed evaluation


@dataclass
class MRQuery:
    """One query for moment retrieval.

    Attributes:
        qid: The query id.
        windows: ``(P, 3)`` predicted windows for mAP: the first 10 of each prediction record for this qid, in order
            (the official code concatenates duplicate records here).
        first: ``(2,)`` first window of the last prediction record (used by R1), or ``None`` for an empty list.
        gt_records: One ``(G_i, 2)`` array per GT record of this qid (more than one only with duplicate GT qids).
    """

    qid: Any
    windows: np.ndarray
    first: np.ndarray | None
    gt_records: list[np.ndarray] = field(default_factory=list)


def in_bucket(gt: np.ndarray, low: float, high: float) -> np.ndarray:
    """Rows of ``(G, 2)`` GT windows whose length is in ``(low, high]``."""
    length = gt[:, 1] - gt[:, 0]
    return gt[(low < length) & (length <= high)]


def bucket_metrics(queries: Sequence[MRQuery], low: float, high: float, *, full: bool) -> tuple[dict, dict, int]:
    """mAP and R1 of one length bucket.

    Returns:
        ``({"0.5": mAP, ..., "average": mAP}, {"0.5": R1, ...}, number of queries kept)``; values are percent, rounded
        to 2 decimals, NaN when the bucket is empty (as the official mean of nothing).
    """
    aps, r1_ious = [], []
    for q in queries:
        records = q.gt_records if full else [in_bucket(g, low, high) for g in q.gt_records]
        records = [g for g in records if len(g)]
        if not records:
            continue
        aps.append(detection_ap(q.windows, np.concatenate(records)))
        if q.first is None:
            r1_ious.append(0.0)  # the official script crashes on an empty window list; here it is a miss
        else:
            # The last surviving GT record wins, as the official qid -> window dict does.
            r1_ious.append(iou_hull(q.first, best_gt_window(q.first, records[-1])))
    keys = [str(t) for t in THRESHOLDS]
    if not aps:
        nan = float("nan")
        return {**dict.fromkeys(keys, nan), "average": nan}, dict.fromkeys(keys, nan), 0
    per_thr = np.array(aps).mean(0)  # (T,) mean over queries
    mean_ap = dict(zip(keys, per_thr.tolist(), strict=True))
    mean_ap["average"] = float(np.mean(per_thr))  # mean of the unrounded per-threshold values
    mean_ap = {k: fmt2(100 * v) for k, v in mean_ap.items()}
    r1_ious = np.array(r1_ious)
    r1 = {str(t): fmt2(np.mean(r1_ious >= t) * 100) for t in THRESHOLDS}
    return mean_ap, r1, len(aps)


def moment_retrieval_metrics(queries: Sequence[MRQuery]) -> tuple[dict[str, dict[str, dict[str, float]]], dict]:
    """The official nested result ``{bucket: {"MR-mAP": {thr: v, "average": v}, "MR-R1": {thr: v}}}``.

    Returns:
        That dict and the number of queries kept per bucket.
    """
    result, kept = {}, {}
    for name, low, high in BUCKETS:
        mean_ap, r1, n = bucket_metrics(queries, low, high, full=name == "full")
        result[name] = {"MR-mAP": mean_ap, "MR-R1": r1}
        kept[name] = n
    return result, kept


def brief_mr(result: dict) -> dict[str, float]:
    """The :data:`MR_KEYS` from the nested result."""
    full = result["full"]
    return {
        "MR-full-R1@0.5": full["MR-R1"]["0.5"],
        "MR-full-R1@0.7": full["MR-R1"]["0.7"],
        "MR-full-mAP": full["MR-mAP"]["average"],
        "MR-full-mAP@0.5": full["MR-mAP"]["0.5"],
        "MR-full-mAP@0.75": full["MR-mAP"]["0.75"],
        "MR-short-mAP": result["short"]["MR-mAP"]["average"],
        "MR-middle-mAP": result["middle"]["MR-mAP"]["average"],
        "MR-long-mAP": result["long"]["MR-mAP"]["average"],
    }


# ---------------------------------------------------------------------------------------------------------------
# Reading and checking records


def pred_windows(record: dict, *, qid: Any, path: PathLike | None) -> np.ndarray:
    """``pred_relevant_windows`` as a ``(P, 3)`` array, checking that every window is ``[start, end, score]``."""
    windows = record.get("pred_relevant_windows")
    if not isinstance(windows, list):
        raise DataError(
            f"expected a list of [start, end, score] windows, got {windows!r}",
            path=path,
            record=qid,
            field="pred_relevant_windows",
        )
    for i, w in enumerate(windows):
        if not (isinstance(w, list) and len(w) == 3 and all(map(is_number, w))):
            raise DataError(
                f"window {i} is {w!r}, not [start, end, score] with finite numbers",
                path=path,
                record=qid,
                field="pred_relevant_windows",
            )
    return np.asarray(windows, dtype=np.float64).reshape(-1, 3)


def gt_windows(record: dict, *, qid: Any, path: PathLike | None) -> np.ndarray:
    """``relevant_windows`` as a ``(G, 2)`` array, ``G >= 1``."""
    windows = record.get("relevant_windows")
    ok = isinstance(windows, list) and len(windows) > 0
    ok = ok and all(isinstance(w, list) and len(w) == 2 and all(map(is_number, w)) for w in windows)
    if not ok:
        raise DataError(
            f"expected a non-empty list of [start, end] windows, got {windows!r}",
            path=path,
            record=qid,
            field="relevant_windows",
        )
    return np.asarray(windows, dtype=np.float64)


def _examples(qids: Sequence[Any], n: int = 5) -> str:
    shown = ", ".join(repr(q) for q in list(qids)[:n])
    return shown + (", ..." if len(qids) > n else "")


def score(
    predictions: list[dict],
    gt: list[dict],
    *,
    match_number: bool = True,
    pred_path: PathLike | None = None,
    gt_path: PathLike | None = None,
) -> ScoreReport:
    """Score a QVHighlights submission as moment_detr's ``standalone_eval/eval.py`` does.

    Args:
        predictions: Submission records (see the module docstring).
        gt: QVHighlights GT records ``{"qid", "duration", "relevant_windows", "relevant_clip_ids",
            "saliency_scores", ...}``.
        match_number: As the official flag: the prediction and GT qid sets must be equal. With ``False`` only
            the common qids are scored and the rest are counted.
        pred_path, gt_path: Only used to name the file in error messages.

    Which parts are scored is decided, as officially, by the first prediction record: moment retrieval if it has
    ``pred_relevant_windows``, highlights if it has ``pred_saliency_scores``; every scored record then needs them.

    Returns:
        A :class:`ScoreReport` with :data:`MR_KEYS` and/or :data:`~vidllm.eval.highlights.HL_KEYS`, and counts
        ``gt, predicted, evaluated, missing, extra, duplicates, duplicate_gt`` plus ``empty_windows`` and the queries
        kept per bucket (``mr_short, mr_middle, mr_long, mr_full``) for MR, ``empty_saliency`` for HL.

    Raises:
        DataError: Malformed records, qid sets that differ under ``match_number``, or nothing to score.
    """
    predictions = as_record_list(predictions, pred_path, "submission")
    gt = as_record_list(gt, gt_path, "ground-truth")
    if not predictions:
        raise DataError("the submission has no record", path=pred_path)
    pred_qids = [record_qid(r, i, pred_path) for i, r in enumerate(predictions)]
    gt_qids = [record_qid(r, i, gt_path) for i, r in enumerate(gt)]
    pred_set, gt_set = set(pred_qids), set(gt_qids)
    missing = [q for q in dict.fromkeys(gt_qids) if q not in pred_set]
    extra = [q for q in dict.fromkeys(pred_qids) if q not in gt_set]
    hint = qid_type_hint(set(extra), gt_set)
    if match_number and (missing or extra):
        raise DataError(
            "the qids of the submission and the ground truth must match (moment_detr asserts this): "
            f"{len(missing)} GT qids have no prediction ({_examples(missing)}), {len(extra)} predicted qids are "
            f"not in the GT ({_examples(extra)}). Pass --no-match-number (match_number=False) to score only the "
            "common qids." + (f" Note: {hint}." if hint else ""),
            path=pred_path,
        )
    shared = pred_set & gt_set
    if not shared:
        raise DataError("no prediction qid is in the ground truth" + (f" ({hint})" if hint else ""), path=pred_path)
    predictions = [r for q, r in zip(pred_qids, predictions, strict=True) if q in shared]
    pred_qids = [q for q in pred_qids if q in shared]
    gt = [r for q, r in zip(gt_qids, gt, strict=True) if q in shared]
    gt_qids = [q for q in gt_qids if q in shared]

    do_mr = "pred_relevant_windows" in predictions[0]
    do_hl = "pred_saliency_scores" in predictions[0]
    if not (do_mr or do_hl):
        raise DataError(
            "the first record has neither 'pred_relevant_windows' nor 'pred_saliency_scores'",
            path=pred_path,
            record=pred_qids[0],
        )
    counts = {
        "gt": len(gt_set),
        "predicted": len(pred_set),
        "evaluated": len(shared),
        "missing": len(missing),
        "extra": len(extra),
        "duplicates": count_duplicates(pred_qids),
        "duplicate_gt": count_duplicates(gt_qids),
    }
    metrics: dict[str, float] = {}
    notes: list[str] = []
    if do_mr:
        queries = mr_queries(predictions, pred_qids, gt, gt_qids, pred_path=pred_path, gt_path=gt_path)
        result, kept = moment_retrieval_metrics(queries)
        metrics.update(brief_mr(result))
        counts["empty_windows"] = sum(q.first is None for q in queries)
        counts["reversed_windows"] = sum(int((q.windows[:, 0] > q.windows[:, 1]).sum()) for q in queries)
        counts["zero_length_windows"] = sum(int((q.windows[:, 0] == q.windows[:, 1]).sum()) for q in queries)
        ties: list[int] = []
        for q in queries:
            records = [g for g in q.gt_records if len(g)]
            if records:
                detection_ap(q.windows, np.concatenate(records), ties=ties)
        counts["tied_tp_fp_pairs"] = sum(ties)
        counts.update({f"mr_{name}": n for name, n in kept.items()})
        notes += mr_notes(counts)
    else:
        notes.append("moment retrieval not scored: the first record has no 'pred_relevant_windows'.")
    if do_hl:
        hl_queries = highlight_queries(predictions, pred_qids, gt, gt_qids, pred_path=pred_path, gt_path=gt_path)
        metrics.update(highlight_metrics(hl_queries))
        counts["empty_saliency"] = sum(len(q.scores) == 0 for q in hl_queries)
        notes += highlight_notes({"empty": counts["empty_saliency"]})
    else:
        notes.append("highlights not scored: the first record has no 'pred_saliency_scores'.")
    if missing or extra:
        notes.insert(
            0,
            f"match_number=False: scored the {len(shared)} common qids; {len(missing)} GT and "
            f"{len(extra)} predicted qids are left out of every mean.",
        )
    if hint:
        notes.append(hint)
    if counts["duplicates"]:
        notes.append(
            f"{counts['duplicates']} duplicate prediction records: as in the official script, mAP uses the windows "
            "of all of them in order (the first 10 of each), R1 and the highlight scores the last one."
        )
    if counts["duplicate_gt"]:
        notes.append(
            f"{counts['duplicate_gt']} duplicate ground-truth records: as in the official script, mAP uses the "
            "windows of all of them, R1 and the highlight scores the last one. Give every query its own qid."
        )
    return ScoreReport(task="qvhl", metrics=metrics, counts=counts, notes=notes)


def mr_queries(
    predictions: Sequence[dict],
    pred_qids: Sequence[Any],
    gt: Sequence[dict],
    gt_qids: Sequence[Any],
    *,
    pred_path: PathLike | None,
    gt_path: PathLike | None,
) -> list[MRQuery]:
    """Build the :class:`MRQuery` list in the submission's first-occurrence order (the order of the float sums)."""
    queries: dict[Any, MRQuery] = {}
    for qid, record in zip(pred_qids, predictions, strict=True):
        if "pred_relevant_windows" not in record:
            raise DataError("no 'pred_relevant_windows'", path=pred_path, record=qid, field="pred_relevant_windows")
        windows = pred_windows(record, qid=qid, path=pred_path)
        first = windows[0, :2] if len(windows) else None
        if qid in queries:
            q = queries[qid]
            q.windows = np.concatenate([q.windows, windows[:MAX_PRED_WINDOWS]])
            q.first = first
        else:
            queries[qid] = MRQuery(qid, windows[:MAX_PRED_WINDOWS], first)
    for qid, record in zip(gt_qids, gt, strict=True):
        queries[qid].gt_records.append(gt_windows(record, qid=qid, path=gt_path))
    return list(queries.values())


def highlight_queries(
    predictions: Sequence[dict],
    pred_qids: Sequence[Any],
    gt: Sequence[dict],
    gt_qids: Sequence[Any],
    *,
    pred_path: PathLike | None,
    gt_path: PathLike | None,
) -> list[HighlightQuery]:
    """Build the :class:`HighlightQuery` list: last record per qid, first-occurrence order."""
    by_qid = dict(zip(pred_qids, predictions, strict=True))
    gt_by_qid = dict(zip(gt_qids, gt, strict=True))
    return [
        HighlightQuery(
            qid,
            number_array(record, "pred_saliency_scores", qid=qid, path=pred_path),
            highlight_gt_grid(gt_by_qid[qid], qid=qid, path=gt_path),
        )
        for qid, record in by_qid.items()
    ]


def mr_notes(counts: dict[str, int]) -> list[str]:
    """Notes on the moment-retrieval part."""
    notes = []
    if counts["empty_windows"]:
        notes.append(
            f"{counts['empty_windows']} queries have an empty pred_relevant_windows list, which the official script "
            "crashes on: here they miss at R1 and have AP 0."
        )
    if counts.get("reversed_windows") or counts.get("zero_length_windows"):
        notes.append(f"{counts['reversed_windows']} reversed (start > end) and {counts['zero_length_windows']} "
                     "zero-length windows are scored as the official script scores them: unchanged, with its NaN "
                     "IoU where the union is 0 (which its matching counts as a hit).")  # fmt: skip
    if counts.get("tied_tp_fp_pairs"):
        notes.append(f"{counts['tied_tp_fp_pairs']} pairs of a true and a false positive window of one query share a "
                     "score (summed over the thresholds, full bucket): they keep their list order (the official "
                     "stable list.sort), so the mAP depends on it.")  # fmt: skip
    empty = [name for name, _, _ in BUCKETS if counts[f"mr_{name}"] == 0]
    if empty:
        notes.append(f"no query has a GT window in the {', '.join(empty)} range: its mAP is NaN, as officially.")
    return notes


def score_files(pred_path: PathLike, gt_path: PathLike, *, match_number: bool = True) -> ScoreReport:
    """:func:`score` on a submission file (JSONL, or a JSON list) and a QVHighlights GT file."""
    predictions = read_json_or_jsonl(pred_path)
    gt = read_json_or_jsonl(gt_path)
    report = score(predictions, gt, match_number=match_number, pred_path=pred_path, gt_path=gt_path)
    logger.info("scored %d QVHighlights queries from %s", report.counts["evaluated"], pred_path)
    return report
