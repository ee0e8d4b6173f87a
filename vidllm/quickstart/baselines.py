"""The answer-prior baseline: the single span that scores best on the training questions, given to every question.

A model that learned only the distribution of answers (not the video) can do no better than this on average, so a
grounding model must clear it; the blind model (trained on frames shuffled in time) is the learned version of it.
"""

from __future__ import annotations

import numpy as np


def span_ious(candidates: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """IoU of every candidate span with every target span.

    Args:
        candidates: `(C, 2)` float seconds ``[start, end]``.
        targets: `(N, 2)` float seconds.

    Returns:
        `(C, N)` IoU in [0, 1] (0 for empty unions).
    """
    cs, ce = candidates[:, None, 0], candidates[:, None, 1]
    ts, te = targets[None, :, 0], targets[None, :, 1]
    inter = np.clip(np.minimum(ce, te) - np.maximum(cs, ts), 0.0, None)
    union = np.maximum(ce, te) - np.minimum(cs, ts)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def best_constant_span(targets: np.ndarray, *, step: float = 0.5, threshold: float = 0.5) -> tuple[float, float]:
    """The span on a ``step``-second grid with the most hits (IoU >= ``threshold``) on ``targets``; ties go to the
    higher mean IoU.

    Args:
        targets: `(N, 2)` float seconds, the training answers.
        step: Grid of the candidate starts and ends.
        threshold: IoU a hit needs (R1@0.5 by default).

    Returns:
        ``(start, end)`` seconds.
    """
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    if len(targets) == 0:
        raise ValueError("no training spans to fit the constant span on")
    grid = np.arange(0.0, targets[:, 1].max() + step / 2, step)
    starts, ends = np.meshgrid(grid, grid, indexing="ij")
    keep = ends > starts
    candidates = np.stack([starts[keep], ends[keep]], axis=1)
    ious = span_ious(candidates, targets)
    hits = (ious >= threshold).mean(axis=1)
    best = np.lexsort((ious.mean(axis=1), hits))[-1]  # last key is primary
    return float(candidates[best, 0]), float(candidates[best, 1])
