"""Verifiable temporal rewards: pure functions that score a model's answer against a record's targets, in [0, 1].

Answers are read with :mod:`vidllm.time` only, so a reward sees exactly what the evaluation scorers see, in every
time scheme (plain seconds, VTG-LLM time tokens, NumPro frame numbers, ``<tk>`` bins). The components:

* ``tiou`` -- moment retrieval: the hull IoU (:func:`vidllm.eval.iou.iou_hull`, the one R1@t uses) of the answer's
  *first* interval with the first ground-truth interval (Time-R1's reward).
* ``f1`` -- multi-moment / temporal action detection: F1 of the answer's intervals against all GT instances at a
  tIoU threshold, matched greedily in answer order, each GT instance once, as the TAD scorer matches
  (:mod:`vidllm.eval.tad`: true-union IoU, ``>=`` threshold).
* ``highlight`` -- highlight detection / summarization: the average precision (QVHighlights' ``get_ap``,
  :func:`vidllm.eval.highlights.average_precision`) of the answer's per-clip saliency against the clips whose GT
  score is above ``highlight_min_score``.
* ``dvc`` -- dense captioning: segment F1 (precision and recall as the dense-captioning evaluator's detection scores
  them, :func:`vidllm.eval.dvc.detection_precision_recall`), averaged over its tIoU thresholds; captions are not
  scored.
* ``format`` -- 1 when the answer parses for its task *in the run's scheme* (it uses the scheme's time tokens,
  frame numbers or plain seconds) and, with the think template, when the completion is
  ``<think>...</think><answer>...</answer>`` (Time-R1); otherwise 0.

With the think template every component reads the text inside ``<answer>`` only; a completion without that tag
gets 0 everywhere. A component that does not apply to a record's task (``tiou`` on a captioning record) is ``None``
(TRL leaves such rewards out of the sum). Nothing here raises on an answer: an unparseable one gets 0 and
:attr:`Scored.parsed` says so, for the callers that count them.

>>> from vidllm.time import get_scheme
>>> target = Target(task="mr", intervals=((2.0, 6.0),), duration=10.0)
>>> score_answer("The man opens the door from 2.0 - 5.0 seconds.", target, get_scheme("text")).rewards["tiou"]
0.75
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vidllm.eval.dvc import THRESHOLDS as DVC_THRESHOLDS
from vidllm.eval.dvc import detection_precision_recall
from vidllm.eval.highlights import average_precision
from vidllm.eval.iou import iou_hull, iou_union
from vidllm.eval.tad import _match, _visit_order
from vidllm.time import (
    TimeScheme,
    parse_captions,
    parse_highlights,
    parse_intervals,
    parse_ranked_intervals,
    saliency_per_clip,
)

Interval = tuple[float, float]

COMPONENTS = ("tiou", "f1", "highlight", "dvc", "format")
"""The reward components, as ``rl.rewards`` weights name them."""

TASK_COMPONENT = {"mr": "tiou", "tad": "f1", "vhd": "highlight", "vs": "highlight", "dvc": "dvc"}
"""The accuracy component of each task (``format`` applies to all)."""

_THINK = re.compile(r"\s*<think>(?P<think>.*?)</think>\s*<answer>(?P<answer>.*?)</answer>\s*", re.DOTALL)
_ANSWER = re.compile(r"<answer>(?P<answer>.*?)</answer>", re.DOTALL)

THINK_PROMPT = (
    " First think about where the moment is between <think> and </think>, then give the final answer between "
    "<answer> and </answer>."
)
"""Appended to the question when ``rl.think`` is on: Time-R1's instruction, in short."""


@dataclass(frozen=True)
class Target:
    """What an answer is scored against, in seconds (built from a :class:`~vidllm.data.records.Record`).

    Attributes:
        task: ``mr``, ``tad``, ``vhd``, ``vs`` or ``dvc`` (``qa`` has no verifiable target: only ``format``).
        intervals: GT intervals (``mr``: the first counts; ``tad``: every instance).
        captions: GT events ``(start, end, caption)`` (``dvc``).
        saliency: GT ``(clip_start, score)`` points (``vhd``/``vs``).
        clip_length: Saliency clip length.
        duration: The video's length (clips answers; needed by the ``bins`` scheme).
        fps: The sampling rate of the frames the model saw (reads NumPro frame numbers).
    """

    task: str
    intervals: tuple[Interval, ...] = ()
    captions: tuple[tuple[float, float, str], ...] = ()
    saliency: tuple[tuple[float, float], ...] = ()
    clip_length: float = 2.0
    duration: float | None = None
    fps: float | None = None

    @classmethod
    def from_record(cls, record, *, fps: float | None = None) -> Target:
        """The target of a :class:`~vidllm.data.records.Record` (``fps``: the sampling rate of its frames)."""
        t = record.targets
        return cls(record.task, tuple(t.intervals), tuple(t.captions), tuple(t.saliency), t.clip_length,
                   record.duration, fps)  # fmt: skip

    def to_dict(self) -> dict:
        """Plain JSON-able values (a dataset column TRL passes back to the reward functions)."""
        return {"task": self.task, "intervals": [list(i) for i in self.intervals],
                "captions": [list(c) for c in self.captions], "saliency": [list(p) for p in self.saliency],
                "clip_length": self.clip_length, "duration": self.duration, "fps": self.fps}  # fmt: skip

    @classmethod
    def from_dict(cls, obj: Mapping) -> Target:
        """Inverse of :meth:`to_dict`."""
        return cls(
            task=str(obj["task"]),
            intervals=tuple((float(s), float(e)) for s, e in obj.get("intervals") or ()),
            captions=tuple((float(s), float(e), str(c)) for s, e, c in obj.get("captions") or ()),
            saliency=tuple((float(t), float(v)) for t, v in obj.get("saliency") or ()),
            clip_length=float(obj.get("clip_length") or 2.0),
            duration=None if obj.get("duration") is None else float(obj["duration"]),
            fps=None if obj.get("fps") is None else float(obj["fps"]),
        )


# ------------------------------------------------------------------------------------------- pure interval math


def tiou_reward(pred: Sequence[Interval], gt: Sequence[Interval]) -> float:
    """Hull IoU of the first predicted interval with the first GT interval (0 without either)."""
    if not pred or not gt:
        return 0.0
    return _unit(iou_hull(pred[0], gt[0]))


def greedy_matches(pred: Sequence[Interval], gt: Sequence[Interval], threshold: float) -> int:
    """How many predictions match a GT instance at ``threshold`` (true-union IoU ``>=``), visited in order, each GT
    instance matched once -- the TAD scorer's greedy matching (:mod:`vidllm.eval.tad`)."""
    locked: set[int] = set()
    for p in pred:
        ious = [iou_union(p, g) for g in gt]
        j = _match(ious, _visit_order(ious), locked, threshold)
        if j is not None:
            locked.add(j)
    return len(locked)


def f1_score(matched: int, num_pred: int, num_gt: int) -> float:
    """F1 of ``matched`` true positives among ``num_pred`` predictions and ``num_gt`` GT items (0 when empty)."""
    if matched <= 0 or num_pred <= 0 or num_gt <= 0:
        return 0.0
    precision, recall = matched / num_pred, matched / num_gt
    return _unit(2 * precision * recall / (precision + recall))


def detection_f1(pred: Sequence[Interval], gt: Sequence[Interval], threshold: float = 0.5) -> float:
    """F1 of ``pred`` against every GT instance at ``threshold`` (:func:`greedy_matches`)."""
    return f1_score(greedy_matches(pred, gt, threshold), len(pred), len(gt))


def dvc_f1(pred: Sequence[Interval], gt: Sequence[Interval], thresholds: Sequence[float] = DVC_THRESHOLDS) -> float:
    """Segment F1 of a dense-captioning answer, as its evaluator's detection precision/recall, mean over
    ``thresholds`` (0 without predictions or GT)."""
    if not pred or not gt:
        return 0.0
    precisions, recalls = detection_precision_recall(pred, gt, thresholds)
    f1s = [2 * p * r / (p + r) if p + r > 0 else 0.0 for p, r in zip(precisions, recalls, strict=True)]
    return _unit(sum(f1s) / len(f1s))


def highlight_ap(pred: Sequence[float], gt: Sequence[float], min_score: float = 0.0) -> float:
    """Average precision of predicted per-clip saliency against the GT clips scored above ``min_score``.

    Both are one score per clip (the shorter is padded with zeros). Without a positive GT clip the reward is 0.
    """
    n = max(len(pred), len(gt))
    if n == 0:
        return 0.0
    labels = np.zeros(n)
    labels[: len(gt)] = np.asarray(gt, dtype=np.float64) > min_score
    if not labels.any():
        return 0.0
    scores = np.zeros(n)
    scores[: len(pred)] = np.nan_to_num(np.asarray(pred, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return _unit(average_precision(labels, scores))


def _unit(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else 0.0


# ------------------------------------------------------------------------------------------------ answer parsing


def answer_text(completion: str, *, think: bool) -> str | None:
    """The answer part of a completion: the whole text, or with ``think`` the inside of ``<answer>`` (``None``
    when the tag is missing)."""
    if not isinstance(completion, str):
        return None
    if not think:
        return completion
    m = _ANSWER.search(completion)
    return m.group("answer") if m else None


def follows_think_template(completion: str) -> bool:
    """Whether the completion is exactly ``<think>...</think><answer>...</answer>`` (whitespace around allowed)."""
    return isinstance(completion, str) and _THINK.fullmatch(completion) is not None


def in_scheme(answer: str, scheme: TimeScheme) -> bool:
    """Whether the times of ``answer`` are written the way ``scheme`` writes them (:meth:`TimeScheme.writes`: with
    its tokens for ``vtgllm`` and ``bins``, as frame numbers for ``frames``, as plain numbers for ``text``)."""
    return scheme.writes(answer)


def _num_bins(scheme: TimeScheme) -> int | None:
    return getattr(scheme, "num_bins", None) if scheme.name == "bins" else None


def parse_for_task(answer: str, target: Target, scheme: TimeScheme):
    """The answer read for the target's task: intervals (``mr``, ``tad``), ``(start, end)`` of events (``dvc``) or
    per-clip saliency (``vhd``, ``vs``); ``None`` for ``qa`` (nothing to read)."""
    kwargs = {"duration": target.duration, "fps": target.fps, "num_bins": _num_bins(scheme)}
    if target.task == "mr":
        return parse_intervals(answer, **kwargs)
    if target.task == "tad":  # best-scored first (text order unless the answer gives confidences), as TAD ranks
        ranked = parse_ranked_intervals(answer, **kwargs)
        return [(s, e) for s, e, _ in sorted(ranked, key=lambda d: -d[2])]
    if target.task == "dvc":
        return [(s, e) for s, e, _ in parse_captions(answer, **kwargs)]
    if target.task in ("vhd", "vs"):
        points = parse_highlights(answer, **kwargs)
        if not points:
            return []
        return saliency_per_clip(points, _num_clips(target), clip_length=target.clip_length)
    return None


def _num_clips(target: Target) -> int:
    if target.duration is not None and target.duration > 0:
        return int(target.duration / target.clip_length)
    return max((math.floor(t / target.clip_length) + 1 for t, _ in target.saliency), default=0)


def gt_saliency(target: Target) -> list[float]:
    """The target's saliency, one score per clip."""
    return saliency_per_clip(list(target.saliency), _num_clips(target), clip_length=target.clip_length)


# ----------------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class RewardSettings:
    """How answers are scored (the ``rl`` section's reward fields).

    Attributes:
        think: Completions follow Time-R1's ``<think>...</think><answer>...</answer>`` template.
        f1_threshold: tIoU threshold of the ``f1`` (TAD / multi-moment) reward.
        dvc_thresholds: tIoU thresholds of the ``dvc`` reward.
        highlight_min_score: GT clips scored above this are the positives of the ``highlight`` reward.
    """

    think: bool = False
    f1_threshold: float = 0.5
    dvc_thresholds: tuple[float, ...] = tuple(DVC_THRESHOLDS)
    highlight_min_score: float = 0.0


@dataclass(frozen=True)
class Scored:
    """One completion's rewards.

    Attributes:
        rewards: Component -> reward in [0, 1], or ``None`` where it does not apply to the task.
        parsed: Whether the answer yielded anything for its task (``qa``: always ``True``).
        iou: The tIoU of the first interval (``mr`` only), for the logs.
    """

    rewards: dict[str, float | None] = field(default_factory=dict)
    parsed: bool = False
    iou: float | None = None


def score_answer(completion: str, target: Target, scheme: TimeScheme, settings: RewardSettings = RewardSettings()):
    """Every component's reward of one completion (see the module docstring); never raises on the completion."""
    rewards: dict[str, float | None] = dict.fromkeys(COMPONENTS)
    own = TASK_COMPONENT.get(target.task)
    answer = answer_text(completion, think=settings.think)
    parsed = None if answer is None else parse_for_task(answer, target, scheme)
    ok = answer is not None if target.task == "qa" else bool(parsed)
    template = follows_think_template(completion) if settings.think else True
    rewards["format"] = float(ok and template and (target.task == "qa" or in_scheme(answer, scheme)))
    iou = None
    if own is not None and not ok:  # unparseable: 0, whatever a metric would make of an empty prediction
        rewards[own] = 0.0
        iou = 0.0 if own == "tiou" else None
    elif own == "tiou":
        iou = tiou_reward(parsed or [], target.intervals)
        rewards["tiou"] = iou
    elif own == "f1":
        rewards["f1"] = detection_f1(parsed or [], target.intervals, settings.f1_threshold)
    elif own == "dvc":
        rewards["dvc"] = dvc_f1(parsed or [], [(s, e) for s, e, _ in target.captions], settings.dvc_thresholds)
    elif own == "highlight":
        rewards["highlight"] = highlight_ap(parsed or [], gt_saliency(target), settings.highlight_min_score)
    return Scored(rewards, ok, iou)


def combine(rewards: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """The weighted sum of the components that apply (``None`` left out), as TRL sums its reward functions."""
    return float(sum(weights.get(k, 0.0) * v for k, v in rewards.items() if v is not None))
