"""Temporal IoU, in each of the forms the official evaluators use.

The forms agree mathematically whenever two intervals overlap, but not in their floating-point results at exact
thresholds, nor on reversed or empty intervals. A scorer that must reproduce an official number uses the form that
evaluator uses (``docs/scoring-conventions.md`` says which); everything else uses :func:`iou_hull`.
Intervals are ``(start, end)`` in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

Interval = Sequence[float]


def iou_hull(pred: Interval, gt: Interval) -> float:
    """IoU with the convex hull as denominator, as TimeChat's ``eval_tvg.py`` and moment_detr's R1 compute it.

    ``max(min(ends) - max(starts), 0) / (max(ends) - min(starts))``, evaluated in that order. Neither interval is
    reordered, so a reversed prediction scores 0, and so does a zero-length one. Where the official script would
    divide by zero (both intervals the same single point) this returns 0.
    """
    inter = max(min(pred[1], gt[1]) - max(pred[0], gt[0]), 0)
    if inter <= 0:
        return 0.0
    return inter / (max(pred[1], gt[1]) - min(pred[0], gt[0]))


def iou_union(pred: Interval, gt: Interval) -> float:
    """IoU with the true union ``len_p + len_g - inter`` as denominator, as moment_detr's MR mAP computes it.

    ``inter = max(min(ends) - max(starts), 0)`` and ``union = (len_p + len_g) - inter``, in that order. Equal to
    :func:`iou_hull` whenever the intervals overlap, but not always bit-for-bit. Disjoint, reversed or zero-length
    intervals give 0 here; :func:`iou_union_matrix` keeps the official NaN for a zero union.
    """
    inter = max(min(pred[1], gt[1]) - max(pred[0], gt[0]), 0)
    if inter <= 0:
        return 0.0
    return inter / ((pred[1] - pred[0]) + (gt[1] - gt[0]) - inter)


def iou_union_matrix(preds, gts):
    """True-union IoU of every prediction against every GT window, exactly as moment_detr's numpy code gets it.

    Args:
        preds: ``(N, 2)`` array-like of ``[start, end]``.
        gts: ``(M, 2)`` array-like of ``[start, end]``.

    Returns:
        ``(N, M)`` float64 array. Nothing is reordered or clipped, and there is no epsilon, so where the union is 0
        (two zero-length windows, or a reversed window whose negative length cancels the other's) the value is
        NaN, as in the official script, whose matching then counts it as a hit (``NaN < t`` is false).
    """
    import numpy as np  # only this vectorised form needs numpy

    preds = np.asarray(preds, dtype=np.float64).reshape(-1, 2)
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, 2)
    len_p = preds[:, 1] - preds[:, 0]
    len_g = gts[:, 1] - gts[:, 0]
    left = np.maximum(preds[:, None, 0], gts[None, :, 0])
    right = np.minimum(preds[:, None, 1], gts[None, :, 1])
    inter = np.clip(right - left, 0, None)
    union = len_p[:, None] + len_g[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def iou_dvc(pred: Interval, gt: Interval) -> float:
    """IoU as TimeChat's dense-captioning evaluator (``metrics/dvc/eval_dvc.py``, ``iou``) computes it.

    Each interval is first put in order with min/max, so a reversed ``(end, start)`` counts like ``(start, end)``.
    The union is ``min(hull, len_pred + len_gt)`` and an epsilon of 1e-8 is added to it, so an overlap that is exactly
    at a threshold mathematically comes out just below it, and two zero-length intervals score 0 instead of failing.
    The result is in ``[0, 1)`` for times below 1e7 s (beyond that the epsilon is lost to rounding). Swapping the
    arguments can change the last bit, as the union's sum is evaluated in argument order: pass the prediction first.
    """
    start_p, end_p = float(min(pred[0], pred[1])), float(max(pred[0], pred[1]))
    start_g, end_g = float(min(gt[0], gt[1])), float(max(gt[0], gt[1]))
    inter = max(0.0, min(end_p, end_g) - max(start_p, start_g))
    # Evaluated left to right, as the official writes it: ((end_p - start_p) + end_g) - start_g.
    union = min(max(end_p, end_g) - min(start_p, start_g), end_p - start_p + end_g - start_g)
    return inter / (union + 1e-8)
