"""Single-moment temporal grounding (Charades-STA style), scored as TimeChat's ``metrics/tvg/eval_tvg.py`` does.

Conventions reproduced (``docs/scoring-conventions.md`` section 1):

* IoU is the hull form (:func:`vidllm.eval.iou.iou_hull`); a reversed or zero-length prediction scores 0.
* Only the first predicted interval counts; an empty list is a miss that stays in the denominator.
* A hit is ``IoU >= t`` for t in 0.3 / 0.5 / 0.7; the value is ``hits * 100 / num`` (multiplied first, unrounded).
* The denominator is every ground-truth query, or with ``sample=True`` only the predicted ones.

Where the official script crashes, this scores and counts instead: a ground-truth query with no prediction is a miss
(the official asserts equal counts), a prediction for an unknown query is ignored, and when both intervals are the same
single point the IoU is 0. ``mIoU`` (not printed by the official script) is the mean IoU of the first interval, x100.

What changes a number without being an error is counted and noted: reversed first intervals (``start > end``,
IoU 0 as officially), a ground-truth id given twice (the last annotation is the one scored, as a dict built from the
file keeps it) and a prediction key given twice in the JSON object (the last value is read). An empty ground truth
is refused: its scores would be 0 for no query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

from vidllm.eval.iou import iou_hull
from vidllm.eval.report import ScoreReport
from vidllm.io import DataError, PathLike, read_interval, read_json

THRESHOLDS = (0.3, 0.5, 0.7)


def score(
    predictions: Mapping[int, Sequence[Sequence[float]]],
    ground_truth: Mapping[int, Sequence[float]],
    *,
    sample: bool = False,
) -> ScoreReport:
    """Score first-interval predictions against one ground-truth interval per query.

    Args:
        predictions: Query id -> predicted intervals ``[[start, end], ...]`` in seconds (only the first counts).
        ground_truth: Query id -> ``[start, end]`` in seconds.
        sample: Score only the predicted queries (TimeChat's ``--sample``) instead of every ground-truth query.

    Returns:
        Metrics ``R1@0.3``, ``R1@0.5``, ``R1@0.7``, ``mIoU`` (percent) and counts of scored, missing, empty and
        unknown queries.
    """
    if not ground_truth:
        raise DataError("the ground truth has no query; expected at least one annotation to score against")
    known = {q: p for q, p in predictions.items() if q in ground_truth}
    queries = [q for q in ground_truth if q in known] if sample else list(ground_truth)
    num = len(queries)
    hits = dict.fromkeys(THRESHOLDS, 0)
    iou_sum = 0.0
    missing = empty = reversed_ = zero_length = 0
    for q in queries:
        pred = known.get(q)
        if pred is None:
            missing += 1
            continue
        if len(pred) == 0:
            empty += 1
            continue
        reversed_ += pred[0][0] > pred[0][1]
        zero_length += pred[0][0] == pred[0][1]
        iou = iou_hull(pred[0], ground_truth[q])
        iou_sum += iou
        for t in THRESHOLDS:
            hits[t] += iou >= t
    metrics = {f"R1@{t}": (hits[t] * 100 / num if num else 0.0) for t in THRESHOLDS}
    metrics["mIoU"] = iou_sum * 100 / num if num else 0.0
    counts = {"queries": num, "missing": missing, "empty": empty, "unknown": len(predictions) - len(known),
              "reversed": reversed_, "zero_length": zero_length}  # fmt: skip
    notes = []
    if missing:
        notes.append(
            f"{missing} ground-truth queries had no prediction and count as misses (TimeChat asserts instead)."
        )
    if counts["unknown"]:
        notes.append(f"{counts['unknown']} predictions name queries not in the ground truth and were ignored.")
    if reversed_:
        notes.append(f"{reversed_} first predicted intervals are reversed (start > end) and score IoU 0, as in "
                     "TimeChat's eval_tvg.py.")  # fmt: skip
    if zero_length:
        notes.append(f"{zero_length} first predicted intervals have zero length (start == end) and score IoU 0.")
    if sample:
        notes.append("--sample: only the predicted queries are in the denominator, as TimeChat's --sample.")
    return ScoreReport("tvg", metrics, counts, notes)


def load_ground_truth(path: PathLike, *, duplicates: list[int] | None = None) -> dict[int, list[float]]:
    """Read TimeChat's COCO-caption-style grounding GT: ``{"annotations": [{"id", "timestamp": [s, e]}, ...]}``.

    Args:
        path: The file.
        duplicates: If given, each id met again is appended to it (the last annotation of an id is kept).

    Raises:
        DataError: Not that form, or no annotation at all.
    """
    data = read_json(path)
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list):
        raise DataError('expected {"annotations": [{"id": ..., "timestamp": [start, end]}, ...]}', path=path)
    if not annotations:
        raise DataError("has no annotation; expected at least one {id, timestamp} query to score against", path=path)
    gt = {}
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "id" not in ann:
            raise DataError("expected an object with an 'id'", path=path, record=f"annotations[{i}]", field="id")
        interval = read_interval(ann.get("timestamp"), path, ann["id"], "timestamp")
        qid = _qid(ann["id"], path, f"annotations[{i}]")
        if qid in gt and duplicates is not None:
            duplicates.append(qid)
        gt[qid] = list(interval)
    return gt


def load_predictions(path: PathLike, *, duplicates: list[str] | None = None) -> dict[int, list[list[float]]]:
    """Read TimeChat-format grounding predictions: ``{"<qid>": {"timestamp": [[s, e], ...]}, ...}``.

    A flat ``"timestamp": [s, e]`` is read as one interval. ``duplicates`` collects keys given twice in one object
    (the last value is read).
    """
    data = read_json(path, duplicates=duplicates)
    if not isinstance(data, dict):
        raise DataError('expected an object {"<qid>": {"timestamp": [[start, end], ...]}, ...}', path=path)
    preds = {}
    for key, entry in data.items():
        qid = _qid(key, path, key)
        if not isinstance(entry, dict) or "timestamp" not in entry:
            raise DataError("expected an object with a 'timestamp' list", path=path, record=key, field="timestamp")
        spans = entry["timestamp"]
        if isinstance(spans, list) and len(spans) == 2 and all(isinstance(v, Real) for v in spans):
            spans = [spans]
        if not isinstance(spans, list):
            raise DataError(f"expected a list of [start, end] intervals, got {spans!r}", path=path, record=key,
                            field="timestamp")  # fmt: skip
        preds[qid] = [list(read_interval(s, path, key, f"timestamp[{k}]")) for k, s in enumerate(spans)]
    return preds


def _qid(value, path: PathLike, record) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"expected an integer query id, got {value!r}", path=path, record=record, field="id") from None


def score_files(pred_path: PathLike, gt_path: PathLike, *, sample: bool = False) -> ScoreReport:
    """:func:`score` on a TimeChat-format prediction file and a COCO-caption-style ground-truth file; ids given twice
    in either file are counted (``duplicate_gt``, ``duplicate_pred``) and noted."""
    dup_gt: list[int] = []
    dup_pred: list[str] = []
    report = score(load_predictions(pred_path, duplicates=dup_pred), load_ground_truth(gt_path, duplicates=dup_gt),
                   sample=sample)  # fmt: skip
    report.counts.update(duplicate_gt=len(dup_gt), duplicate_pred=len(dup_pred))
    if dup_gt:
        report.notes.append(
            f"{len(dup_gt)} ground-truth ids appear more than once (e.g. {dup_gt[0]}); only the last annotation of "
            "each is scored. Give every query its own id."
        )
    if dup_pred:
        report.notes.append(
            f"{len(dup_pred)} keys appear more than once in the prediction file (e.g. {dup_pred[0]!r}); only the "
            "last value of each is read."
        )
    return report
