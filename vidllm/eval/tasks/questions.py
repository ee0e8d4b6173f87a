"""The questions of evaluation tasks and their answer parsers (:mod:`vidllm.time` only).

An answer that yields nothing becomes the prediction an official formatter writes for an unreadable answer: no
interval (a miss), an all-zero saliency list (TimeChat's ``format_vhd.py``), no caption.
"""

from __future__ import annotations

from typing import Any

from vidllm.eval.tasks.base import CLIP_SECONDS, Question
from vidllm.time import parse_captions, parse_highlights, parse_intervals, parse_ranked_intervals, saliency_per_clip


def _moments(answer: str, *, fps, duration, num_bins, gt_duration) -> dict[str, Any]:
    return {"intervals": [list(p) for p in parse_intervals(answer, duration=duration, fps=fps, num_bins=num_bins)]}


def _highlights(answer: str, *, fps, duration, num_bins, gt_duration) -> dict[str, Any]:
    points = parse_highlights(answer, fps=fps, duration=duration, num_bins=num_bins)
    num_clips = int(gt_duration / CLIP_SECONDS) if gt_duration else 0  # the GT duration sets the clip count
    return {"points": [list(p) for p in points], "saliency": saliency_per_clip(points, num_clips)}


def _captions(answer: str, *, fps, duration, num_bins, gt_duration) -> dict[str, Any]:
    return {"captions": [list(c) for c in parse_captions(answer, duration=duration, fps=fps, num_bins=num_bins)]}


def _detections(answer: str, *, fps, duration, num_bins, gt_duration) -> dict[str, Any]:
    # [start, end, score]: text order is the ranking unless the answer gives confidences
    detections = parse_ranked_intervals(answer, duration=duration, fps=fps, num_bins=num_bins)
    return {"intervals": [list(d) for d in detections]}


QUESTIONS: dict[str, Question] = {
    q.name: q
    for q in (
        Question("mr", "mr", "intervals", _moments, ranked=True),
        Question("vhd", "vhd", "points", _highlights),
        Question("dvc", "dvc", "captions", _captions),
        Question("vs", "vhd", "points", _highlights),  # summarization asks the highlight question
        Question("tad", "tad", "intervals", _detections, ranked=True),
    )
}
"""Question name -> :class:`Question` (``mr`` moment retrieval, ``vhd`` highlight detection, ``vs`` video
summarization, ``dvc`` dense captioning, ``tad`` temporal action detection)."""


def get_question(name: str) -> Question:
    """The question ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in QUESTIONS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(QUESTIONS)}")
    return QUESTIONS[name]
