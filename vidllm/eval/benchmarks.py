"""The benchmarks an evaluation run knows, as the runner and the plots use them: queries, prompts, answers, scores.

Each benchmark is a :class:`~vidllm.eval.tasks.Task` of the registry (:mod:`vidllm.eval.tasks`): its family reads
the ground truth and writes and scores the official prediction files, its questions read the answers with
:mod:`vidllm.time` only. This module is the runner's view of them (names kept from before the registry:
``Benchmark`` is ``Task``, ``BENCHMARKS`` is ``TASKS``); it has no per-format code of its own.

An answer that yields nothing, or a sample whose video could not be read, becomes the prediction an official
formatter writes for an unreadable answer: no interval (a miss), an all-zero saliency list (TimeChat's
``format_vhd.py``), no caption. Such samples stay in every denominator and are counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidllm.eval.iou import iou_hull
from vidllm.eval.tasks import (
    CLIP_SECONDS,
    TASKS,
    GroundTruth,
    GtEntry,
    Scored,
    ScoreOptions,
    Task,
    get_question,
    get_task,
)
from vidllm.io import DataError, PathLike
from vidllm.time.ranked import rank_score

Benchmark = Task
"""The older name of :class:`~vidllm.eval.tasks.Task`."""

BENCHMARKS: dict[str, Task] = TASKS
"""The registry (:data:`vidllm.eval.tasks.TASKS`)."""

TAD_PROTOCOLS = {name: t.protocol for name, t in TASKS.items() if t.protocol}
"""The :data:`vidllm.eval.tad.PROTOCOLS` entry (thresholds, recall) each TAD benchmark is scored with."""

__all__ = ["CLIP_SECONDS", "GroundTruth", "GtEntry", "Scored"]


def get_benchmark(name: str) -> Task:
    """The benchmark registered as ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    return get_task(name)


def load_ground_truth(benchmark: Task, path: PathLike, *, tad_queries: str = "all") -> GroundTruth:
    """Read and check a ground-truth file of ``benchmark`` (its family's reader).

    ``tad_queries`` (TAD benchmarks): ``all`` classes per video or only the ``present`` ones.

    Raises:
        FileNotFoundError: No such file.
        DataError: The file is not in the benchmark's form (the message names the file, record and field).
    """
    return benchmark.load(path, tad_queries=tad_queries)


# ------------------------------------------------------------------------------------------------------ queries


@dataclass(frozen=True)
class Query:
    """One question of a run.

    Attributes:
        id: Unique in the run: the GT key, or ``"<key>:<task>"`` when a run asks several tasks per query.
        task: ``mr``, ``vhd``, ``dvc`` or ``vs``.
        entry: Its ground-truth entry.
        video: The video's path under the video root (from the template).
    """

    id: str
    task: str
    entry: GtEntry
    video: str


def build_queries(gt: GroundTruth, tasks: Sequence[str], video_template: str = "{vid}.mp4") -> list[Query]:
    """Every (entry, task) question of a run, entries in file order, tasks in the given order.

    Raises:
        ValueError: A task the benchmark cannot score, or duplicate GT keys.
    """
    bad = [t for t in tasks if t not in gt.benchmark.tasks]
    if bad:
        raise ValueError(
            f"the {gt.benchmark.name} benchmark scores {', '.join(gt.benchmark.tasks)}, not {', '.join(bad)}; "
            f"use the matching script (eval/mr.py for mr, eval/hd.py for vhd, eval/dvc.py, eval/vs.py, eval/tad.py)"
        )
    keys = [e.key for e in gt.entries]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise DataError(f"the ground truth lists {dup!r} more than once; ids must be unique", path=gt.path)
    multi = len(tasks) > 1
    return [
        Query(f"{e.key}:{t}" if multi else str(e.key), t, e, video_template.format(vid=e.vid))
        for e in gt.entries
        for t in tasks
    ]


def prompt_task(task: str) -> str:
    """The ``eval_prompts.json`` task of a run task (summarization asks the highlight question)."""
    return get_question(task).prompt_task


# ------------------------------------------------------------------------------------------------------ answers


def parse_answer(task: str, answer: str, **time_kwargs: Any) -> dict[str, Any]:
    """Read an answer with :mod:`vidllm.time` (the question's parser).

    Args:
        task: ``mr``, ``vhd``, ``vs``, ``dvc`` or ``tad``.
        answer: The model's text.
        **time_kwargs: ``fps`` (required), ``duration``, ``num_bins``, ``gt_duration`` (below).
        fps: The sampling rate (reads "Frame n" answers as ``n / fps`` seconds).
        duration: The video's length: intervals are clipped to it and those starting after it dropped (the
            ``bins`` scheme also needs it to read its tokens); ``None`` reads without clipping.
        num_bins: The ``bins`` scheme's token count.
        gt_duration: The GT duration, which sets the clip count of highlight answers (``int(duration / 2)``).

    Returns:
        ``{"intervals": [[s, e], ...]}`` (mr), ``{"points": [[t, score], ...], "saliency": [one per 2-s clip]}``
        (vhd, vs), ``{"captions": [[s, e, text], ...]}`` (dvc) or ``{"intervals": [[s, e, score], ...]}`` (tad);
        empty lists when nothing parses.
    """
    return get_question(task).parse(answer, **time_kwargs)


def is_parsed(task: str, parsed: Mapping[str, Any]) -> bool:
    """Whether an answer yielded anything usable for its task."""
    return get_question(task).is_parsed(parsed)


# ------------------------------------------------------------------------------------------- predictions + scores


def window_scores(intervals: Sequence[Sequence[float]]) -> list[list[float]]:
    """``[start, end, score]`` windows ranked in answer order: scores ``1, 1/2, 1/3, ...``."""
    return [[float(i[0]), float(i[1]), rank_score(k)] for k, i in enumerate(intervals)]


def score_samples(
    gt: GroundTruth,
    tasks: Sequence[str],
    samples: Mapping[str, Mapping],
    queries: Sequence[Query],
    out_dir: PathLike,
    *,
    java: bool = True,
    meteor: Any = None,
    scores: str = "model",
) -> Scored:
    """Write the official prediction files of a run and score them against the selected ground truth.

    Every selected GT entry is scored; a query without a usable answer gets the unreadable-answer prediction (see
    the module docstring), so the denominators are the selected queries.

    Args:
        gt: The ground truth, already limited to the evaluated entries.
        tasks: The run's tasks.
        samples: Sample lines by query id (see :mod:`vidllm.eval.samples`).
        queries: The run's queries (``samples`` keys are their ids).
        out_dir: Where the prediction files go.
        java: Dense captioning: compute the Java-based metrics.
        meteor: Dense captioning: a running :class:`vidllm.eval.java.Meteor` to reuse.
        scores: How ranked predictions are scored: ``model`` confidences or ``rank`` (:mod:`vidllm.eval.confidence`).

    Returns:
        The reports and the files written.
    """
    by_task: dict[str, dict[Any, Mapping | None]] = {t: {} for t in tasks}
    for q in queries:
        by_task[q.task][q.entry.key] = samples.get(q.id)
    options = ScoreOptions(java=java, meteor=meteor, scores=scores)
    return gt.benchmark.family.score(gt, by_task, Path(out_dir), options)


# ------------------------------------------------------------------------------------------------------- for plots


def gt_intervals(entry: GtEntry) -> list[tuple[float, float]]:
    """The GT intervals of an entry: the moment (tvg), the relevant windows (QVHighlights) or the segments (dvc)."""
    rec = entry.record
    if "timestamp" in rec:
        return [tuple(rec["timestamp"])]
    if "relevant_windows" in rec:
        return [tuple(w) for w in rec["relevant_windows"]]
    return [tuple(s) for s in rec.get("segments", [])]


def gt_saliency(entry: GtEntry) -> list[float] | None:
    """The mean annotator score per 2-s clip of a highlight entry, ``None`` for other benchmarks."""
    rec = entry.record
    if "saliency_scores" not in rec or not entry.duration:
        return None
    num_clips = int(entry.duration / CLIP_SECONDS)
    out = [0.0] * num_clips
    for i, row in zip(rec["relevant_clip_ids"], rec["saliency_scores"]):
        if 0 <= i < num_clips and row:
            out[i] = sum(row) / len(row)
    return out


def best_iou(pred: Sequence[float], gts: Sequence[Sequence[float]]) -> float:
    """The hull IoU (TimeChat's form) of a predicted interval with its best-matching GT interval."""
    return max((iou_hull(pred, g) for g in gts), default=0.0)
