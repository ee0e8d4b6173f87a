"""Single-moment temporal grounding (Charades-STA style), scored as TimeChat's ``metrics/tvg/eval_tvg.py`` does.

Conventions reproduced (``docs/scoring-conventions.md`` section 1):

* IoU is the hull form (:func:`vidllm.eval.iou.iou_hull`); a reversed or zero-length prediction scores 0.
* Only the first predicted interval counts; an empty list is a miss that stays in the denominator.
* A hit is ``IoU >= t`` for t in 0.3 / 0.5 / 0.7; the value is ``hits * 100 / num`` (multiplied first, unrounded).
* The denominator is every ground-truth query, or with ``sample=True`` only the predicted ones.

Where the official script crashes, this scores and counts instead: a ground-truth query with no prediction is a miss
(the official asserts equal counts), a prediction for an unknown query is ignored, and when both intervals are the same
single point the IoU is 0. ``mIoU`` (not printed by the official script) is the mean IoU of the first interval, x100.
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
    known = {q: p for q, p in predictions.items() if q in ground_truth}
    queries = [q for q in ground_truth if q in known] if sample else list(ground_truth)
    num = len(queries)
    hits = dict.fromkeys(THRESHOLDS, 0)
    iou_sum = 0.0
    missing = empty = 0
    for q in queries:
        pred = known.get(q)
        if pred is None:
            missing += 1
            continue
        if len(pred) == 0:
            empty += 1
            continue
        iou = iou_hull(pred[0], ground_truth[q])
        iou_sum += iou
        for t in THRESHOLDS:
            hits[t] += iou >= t
    metrics = {f"R1@{t}": (hits[t] * 100 / num if num else 0.0) for t in THRESHOLDS}
    metrics["mIoU"] = iou_sum * 100 / num if num else 0.0
    counts = {"queries": num, "missing": missing, "empty": empty, "unknown": len(predictions) - len(known)}
    notes = []
    if missing:
        notes.append(
            f"{missing} ground-truth queries had no prediction and count as misses (TimeChat asserts instead)."
        )
    if counts["unknown"]:
        notes.append(f"{counts['unknown']} predictions name queries not in the ground truth and were ignored.")
    if sample:
        notes.append("--sample: only the predicted queries are in the denominator, as TimeChat's --sample.")
    return ScoreReport("tvg", metrics, counts, notes)


def load_ground_truth(path: PathLike) -> dict[int, list[float]]:
    """Read TimeChat's COCO-caption-style grounding GT: ``{"annotations": [{"id", "timestamp": [s, e]}, ...]}``."""
    data = read_json(path)
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list):
        raise DataError('expected {"annotations": [{"id": ..., "timestamp": [start, end]}, ...]}', path=path)
    gt = {}
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "id" not in ann:
            raise DataError("expected an object with an 'id'", path=path, record=f"annotations[{i}]", field="id")
        interval = read_interval(ann.get("timestamp"), path, ann["id"], "timestamp")
        gt[_qid(ann["id"], path, f"annotations[{i}]")] = list(interval)
    return gt


def load_predictions(path: PathLike) -> dict[int, list[list[float]]]:
    """Read TimeChat-format grounding predictions: ``{"<qid>": {"timestamp": [[s, e], ...]}, ...}``.

    A flat ``"timestamp": [s, e]`` is read as one interval.
    """
    data = read_json(path)
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
    """:func:`score` on a TimeChat-format prediction file and a COCO-caption-style ground-truth file."""
    return score(load_predictions(pred_path), load_ground_truth(gt_path), sample=sample)
