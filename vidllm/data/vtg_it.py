"""VTG-IT-120K (VTG-LLM) and TimeIT (TimeChat) instruction files, read as published and written back.

The schema is one JSON list of items::

    [{"video": "charades/videos/3MSZA.mp4",
      "QA": [{"q": "Identify the video portion that relates to ... 'person turn a light on' ...",
              "a": "<TIME_ZERO><TIME_ZERO><TIME_TWO><TIME_FOUR><TIME_DOT><TIME_THREE>-... seconds, person turn ..."}]}]

Each ``QA`` turn becomes one :class:`~vidllm.data.records.Record` (VTG-IT puts several grounding queries of one
video in one item). The answer's times are decoded with :mod:`vidllm.time`, whatever wrote them: VTG-LLM's
``<TIME_*>`` tokens, TimeIT's plain seconds, or any other form the parser reads; the task comes from the rule of
:mod:`vidllm.data.answers`. Two optional keys that the published files do not have are read and written:
``"duration"`` (seconds) and ``"task"``; VTG-LLM's and TimeChat's loaders ignore them.

Paths: ``video_root`` is where the videos are. A published path that is absolute and inside ``video_root`` is made
relative to it; ``strip_prefix`` removes a leading part first (VTG-IT's paths start with its authors' folders, e.g.
``strip_prefix="yourpath/data/"``).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from vidllm.data.answers import decode_answer, infer_task
from vidllm.data.records import TASKS, Record, render_answer
from vidllm.data.validate import LoadReport, Problem, check_records, check_videos, log_report, skip_or_raise
from vidllm.io import DataError, PathLike, read_json, write_json
from vidllm.time import TimeScheme, get_scheme


class Loaded(NamedTuple):
    """What a reader returns: the usable records and the report of what was read, fixed and skipped."""

    records: list[Record]
    report: LoadReport


def relative_video(path: str, *, video_root: PathLike | None = None, strip_prefix: str | None = None) -> str:
    """A video path as stored in a record: ``strip_prefix`` removed, then made relative to ``video_root`` if inside.

    Paths are kept with forward slashes, so records are the same on every system.
    """
    if strip_prefix and path.startswith(strip_prefix):
        path = path[len(strip_prefix) :]
    if video_root is not None and os.path.isabs(path):
        with contextlib.suppress(ValueError):  # outside the root: kept as it is
            path = str(Path(path).relative_to(Path(video_root)))
    return PurePosixPath(Path(path).as_posix()).as_posix()


def _duration(item: dict, path: str, index: int) -> tuple[float | None, Problem | None]:
    value = item.get("duration")
    if value is None:
        return None, None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value), None
    return None, Problem(f"expected a duration > 0 seconds, got {value!r}; ignored", path, index, "duration", True)


def iter_vtg_it_records(
    items: Any,
    *,
    path: PathLike | None = None,
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    report: LoadReport | None = None,
    strict: bool = False,
) -> Iterator[tuple[int | str, Record]]:
    """Build ``(index, record)`` pairs from loaded VTG-IT items (not yet validated; see :func:`read_vtg_it`).

    Items that cannot be built (no ``video``, no ``QA`` list, a turn without ``q``/``a`` strings) are counted as
    skipped in ``report`` (or raised with ``strict``).
    """
    path_s = str(path) if path is not None else None
    report = report if report is not None else LoadReport(path_s)
    if not isinstance(items, list):
        raise DataError(
            f'expected a JSON list of {{"video", "QA": [{{"q", "a"}}]}} items, got {type(items).__name__}',
            path=path,
        )
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            skip_or_raise(Problem(f"expected an object, got {type(item).__name__}", path_s, i), report, strict=strict)
            continue
        video, qa = item.get("video"), item.get("QA")
        if not isinstance(video, str) or not video.strip():
            skip_or_raise(Problem(f"expected a video path, got {video!r}", path_s, i, "video"), report, strict=strict)
            continue
        if not isinstance(qa, list) or not qa:
            skip_or_raise(Problem(f"expected a non-empty list of turns, got {qa!r}", path_s, i, "QA"), report,
                          strict=strict)  # fmt: skip
            continue
        duration, problem = _duration(item, path_s, i)
        if problem is not None:
            report.problems.append(problem)
        item_task = item.get("task", task)
        rel = relative_video(video, video_root=video_root, strip_prefix=strip_prefix)
        for k, turn in enumerate(qa):
            index: int | str = i if len(qa) == 1 else f"{i}.QA[{k}]"
            q = turn.get("q") if isinstance(turn, dict) else None
            a = turn.get("a") if isinstance(turn, dict) else None
            if not (isinstance(q, str) and isinstance(a, str)):
                bad = "q" if not isinstance(q, str) else "a"
                skip_or_raise(Problem("expected a string", path_s, i, f"QA[{k}].{bad}"), report, strict=strict)
                continue
            t = item_task if item_task in TASKS else infer_task(q, a, fps=fps, num_bins=num_bins)
            targets, query = decode_answer(
                a, t, question=q, duration=duration, fps=fps, num_bins=num_bins, clip_length=clip_length
            )
            record = Record(
                video=rel,
                task=t,
                prompt=q.strip(),
                targets=targets,
                duration=duration,
                query=query,
                answer=a,
                source=f"{path_s}:{index}" if path_s else index,
            )
            yield index, record


def finish_loading(
    pairs, report: LoadReport, *, strict: bool, fix: bool, check_video_files: bool, video_root: PathLike | None
) -> Loaded:
    """What every reader does after parsing: check the ``(index, record)`` pairs, optionally count missing videos,
    log the report."""
    records = check_records(pairs, report, strict=strict, fix=fix)
    if check_video_files:
        if video_root is None:
            raise ValueError("check_video_files needs the video_root the videos are under")
        check_videos(records, video_root, report)
    log_report(report)
    return Loaded(records, report)


def read_vtg_it(
    path: PathLike,
    *,
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    strict: bool = False,
    fix: bool = True,
    check_video_files: bool = False,
) -> Loaded:
    """Read a VTG-IT / TimeIT instruction file into checked records.

    Args:
        path: The JSON file.
        video_root: Where the videos are (paths are made relative to it; needed by ``check_video_files``).
        strip_prefix: A leading part of the published paths to remove.
        task: Force this task for every turn (default: the file's ``"task"`` key, else the inference rule).
        fps: Sampling rate, to read answers written in frame numbers.
        num_bins: Token count, to read answers written in ``<tk>`` bin tokens (they also need ``"duration"``).
        clip_length: Saliency clip length for highlight answers (VTG-IT / QVHighlights: 2 s).
        strict: Raise the first problem as a :class:`~vidllm.io.DataError` instead of skipping the record.
        fix: Fix what can be fixed (reversed intervals, ends past the duration); see :mod:`vidllm.data.validate`.
        check_video_files: Count the records whose video is not under ``video_root``.

    Returns:
        ``Loaded(records, report)``.

    Raises:
        FileNotFoundError: No such file.
        DataError: Not JSON, not a list of items, or (``strict``) any record problem.
    """
    report = LoadReport(str(path))
    pairs = iter_vtg_it_records(
        read_json(path),
        path=path,
        video_root=video_root,
        strip_prefix=strip_prefix,
        task=task,
        fps=fps,
        num_bins=num_bins,
        clip_length=clip_length,
        report=report,
        strict=strict,
    )
    return finish_loading(pairs, report, strict=strict, fix=fix, check_video_files=check_video_files,
                          video_root=video_root)  # fmt: skip


def to_vtg_it_items(
    records: Iterable[Record],
    scheme: TimeScheme | str = "vtgllm",
    *,
    group_by_video: bool = False,
    extra_fields: bool = True,
) -> list[dict[str, Any]]:
    """VTG-IT items for ``records``, answers written in ``scheme`` (VTG-LLM's time tokens by default).

    Args:
        records: The records.
        scheme: A scheme or its name (``"text"`` gives TimeIT-style plain seconds).
        group_by_video: Put the turns of records with the same video and duration in one item (in first-seen
            order), as VTG-IT does for grounding queries.
        extra_fields: Also write ``"task"`` and, when known, ``"duration"`` (VTG-LLM's loader ignores them).
    """
    scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
    items: list[dict[str, Any]] = []
    grouped: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for r in records:
        turn = {"q": r.prompt, "a": render_answer(r, scheme)}
        key = (r.video, r.duration, r.task)
        if group_by_video and key in grouped:
            grouped[key]["QA"].append(turn)
            continue
        item: dict[str, Any] = {"video": r.video, "QA": [turn]}
        if extra_fields:
            item["task"] = r.task
            if r.duration is not None:
                item["duration"] = r.duration
        items.append(item)
        if group_by_video:
            grouped[key] = item
    return items


def write_vtg_it(
    records: Iterable[Record],
    path: PathLike,
    scheme: TimeScheme | str = "vtgllm",
    *,
    group_by_video: bool = False,
    extra_fields: bool = True,
) -> Path:
    """Write records as a VTG-IT instruction file (see :func:`to_vtg_it_items`); returns the path."""
    items = to_vtg_it_items(records, scheme, group_by_video=group_by_video, extra_fields=extra_fields)
    return write_json(items, path, indent=None)
