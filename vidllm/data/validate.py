"""Checking records: timestamps are numbers, in order and inside the video; the video file exists.

Every reader and converter runs :func:`check_record` on what it builds. What can be fixed without guessing is fixed
and counted: a reversed interval is swapped, a negative start becomes 0, an end past the known duration is clipped
to it. What cannot is a problem that skips the record (or raises with ``strict=True``): a time that is not a finite
number, an interval that starts after the video ends, a record whose task has no targets left.

Skipping is the default because one bad line among 120k instructions should not stop a training run; the count and
the reasons are in the :class:`LoadReport` and in the log, and ``vidllm data stats FILE`` lists them.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidllm.data.records import TASKS, Record, Targets
from vidllm.io import DataError, PathLike

logger = logging.getLogger(__name__)

DURATION_SLACK = 0.5
"""Seconds an end may pass the known duration before it counts as a problem (durations are often rounded)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record: where (file, record, field), what, and whether it was fixed."""

    message: str
    path: str | None = None
    record: Any = None
    field: str | None = None
    fixed: bool = False

    def error(self) -> DataError:
        """The problem as a :class:`DataError` (to raise in strict mode)."""
        return DataError(self.message, path=self.path, record=self.record, field=self.field)

    def __str__(self) -> str:
        return ("fixed: " if self.fixed else "") + str(self.error())


@dataclass
class LoadReport:
    """What a reader did with a file: how many items it read, kept, fixed and skipped, and why.

    Attributes:
        path: The file.
        read: Records read (one per question/answer turn).
        kept: Records returned.
        problems: Every problem found, fixed or not.
        missing_videos: Records whose video is not under the video root (``None``: not checked).
        missing_examples: A few of those paths.
        outside_root: Records whose video path leads outside the video root -- absolute, through ``..`` or through
            a symlink pointing out (``None``: not checked). They are not counted as present or missing.
        outside_examples: A few of those paths.
    """

    path: str | None = None
    read: int = 0
    kept: int = 0
    problems: list[Problem] = field(default_factory=list)
    missing_videos: int | None = None
    missing_examples: list[str] = field(default_factory=list)
    outside_root: int | None = None
    outside_examples: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Records dropped because of a problem that could not be fixed."""
        return self.read - self.kept

    @property
    def fixed(self) -> int:
        """Problems fixed in place."""
        return sum(p.fixed for p in self.problems)

    def reasons(self) -> Counter:
        """Problem messages (without the numbers that differ per record) and how often each came."""
        return Counter(("fixed: " if p.fixed else "") + _reason(p) for p in self.problems)

    def summary(self) -> str:
        """One line: read, kept, skipped, fixed, missing videos."""
        parts = [f"{self.read} read", f"{self.kept} kept", f"{self.skipped} skipped", f"{self.fixed} fixed"]
        if self.missing_videos is not None:
            parts.append(f"{self.missing_videos} videos missing")
        if self.outside_root:
            parts.append(f"{self.outside_root} outside the video root")
        return f"{self.path}: " + ", ".join(parts)

    def merge(self, other: LoadReport) -> None:
        """Add ``other``'s counts and problems to this report."""
        self.read += other.read
        self.kept += other.kept
        self.problems.extend(other.problems)
        if other.missing_videos is not None:
            self.missing_videos = (self.missing_videos or 0) + other.missing_videos
            self.missing_examples.extend(other.missing_examples[: 5 - len(self.missing_examples)])
        if other.outside_root is not None:
            self.outside_root = (self.outside_root or 0) + other.outside_root
            self.outside_examples.extend(other.outside_examples[: 5 - len(self.outside_examples)])


_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _reason(p: Problem) -> str:
    """The problem's whole message with its values masked (numbers ``#``, quoted text ``'...'``), so problems that
    differ only in their values group together and the message keeps its explanation and fix."""
    field_name = (p.field or "").split("[")[0]
    text = _VALUE.sub(lambda m: "'...'" if m.group()[0] in "'\"" else "#", p.message)
    return f"{field_name}: {text}" if field_name else text


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


class _Checker:
    def __init__(self, record: Record, path: str | None, index: Any, fix: bool):
        self.record, self.path, self.index, self.fix = record, path, index, fix
        self.problems: list[Problem] = []
        self.bad = False

    def problem(self, message: str, field_name: str | None, *, fixed: bool = False) -> None:
        self.problems.append(Problem(message, self.path, self.index, field_name, fixed))
        self.bad |= not fixed

    def span(self, start: Any, end: Any, field_name: str) -> tuple[float, float] | None:
        """A checked ``(start, end)``, fixed where possible; ``None`` when it cannot be used."""
        if not (_finite(start) and _finite(end)):
            self.problem(f"expected two finite numbers of seconds, got {start!r} and {end!r}", field_name)
            return None
        start, end = float(start), float(end)
        if start > end:
            if not self.fix:
                self.problem(f"start {start} is after end {end}; swap them", field_name)
                return None
            self.problem(f"start {start} was after end {end}; swapped", field_name, fixed=True)
            start, end = end, start
        if start < 0:
            if not self.fix:
                self.problem(f"start {start} is negative; times are seconds from 0", field_name)
                return None
            self.problem(f"start {start} was negative; set to 0", field_name, fixed=True)
            start, end = 0.0, max(end, 0.0)
        duration = self.record.duration
        if duration is not None:
            if start >= duration:
                self.problem(
                    f"start {start} is not inside the video of {duration} s; the interval cannot be used "
                    "(check the duration or the time unit)",
                    field_name,
                )
                return None
            if end > duration + DURATION_SLACK and not self.fix:
                self.problem(f"end {end} is after the video's end ({duration} s); clip it", field_name)
                return None
            if end > duration:
                if end > duration + DURATION_SLACK:
                    self.problem(
                        f"end {end} was after the video's end ({duration} s); clipped", field_name, fixed=True
                    )
                end = duration
        return start, end


def check_record(
    record: Record, *, path: PathLike | None = None, index: Any = None, fix: bool = True
) -> tuple[Record | None, list[Problem]]:
    """Check one record; return it (fixed where allowed) or ``None`` when it cannot be used, and the problems.

    Args:
        record: The record.
        path: Its file, for the messages.
        index: Its index (or id) in that file, for the messages.
        fix: Swap reversed intervals, clip ends to the duration, set negative starts to 0 (each counted as a fixed
            problem). With ``False`` those are problems that make the record unusable.

    Returns:
        ``(record or None, problems)``.
    """
    c = _Checker(record, str(path) if path is not None else None, index if index is not None else record.source, fix)
    if record.task not in TASKS:
        c.problem(f"unknown task {record.task!r}; expected one of {', '.join(TASKS)}", "task")
    if not isinstance(record.video, str) or not record.video.strip():
        c.problem(f"expected a video path, got {record.video!r}", "video")
    if not isinstance(record.prompt, str) or not record.prompt.strip():
        c.problem("the question is empty", "prompt")
    duration = record.duration
    if duration is not None and not (_finite(duration) and duration > 0):
        c.problem(f"expected a duration > 0 seconds, got {duration!r}", "duration")
        record = record.replace(duration=None)
        c.record = record
    t = record.targets
    intervals = [c.span(s, e, f"intervals[{k}]") for k, (s, e) in enumerate(t.intervals)]
    captions = []
    for k, (s, e, text) in enumerate(t.captions):
        span = c.span(s, e, f"captions[{k}]")
        if not isinstance(text, str) or not text.strip():
            c.problem("the caption text is empty", f"captions[{k}]")
            span = None
        captions.append(span and (*span, text))
    saliency = []
    if not (_finite(t.clip_length) and t.clip_length > 0):
        c.problem(f"expected a clip length > 0 seconds, got {t.clip_length!r}", "clip_length")
    for k, (time, score) in enumerate(t.saliency):
        if not (_finite(time) and _finite(score)):
            c.problem(f"expected a time and a score (finite numbers), got {time!r} and {score!r}", f"saliency[{k}]")
            saliency.append(None)
        elif time < 0 or (duration is not None and time >= duration + DURATION_SLACK):
            c.problem(f"time {time} is not inside the video (0 to {duration} s)", f"saliency[{k}]")
            saliency.append(None)
        else:
            saliency.append((float(time), float(score)))
    needs = {"mr": ("intervals", intervals), "dvc": ("captions", captions), "vhd": ("saliency", saliency)}
    needs["vs"] = needs["vhd"]
    needs["tad"] = needs["mr"]
    if record.task in needs and not needs[record.task][1]:
        said = f"; its answer states none that can be read ({record.answer[:60]!r})" if record.answer else ""
        c.problem(f"a '{record.task}' record needs at least one item{said}", needs[record.task][0])
    if record.task == "qa" and not (isinstance(record.answer, str) and record.answer.strip()):
        c.problem("a 'qa' record needs its answer text", "answer")
    if c.bad:
        return None, c.problems
    targets = Targets(tuple(intervals), tuple(captions), tuple(saliency), t.clip_length)
    return (record.replace(targets=targets) if targets != t else record), c.problems


def check_records(
    records: Iterable[tuple[Any, Record]],
    report: LoadReport,
    *,
    strict: bool = False,
    fix: bool = True,
) -> list[Record]:
    """Check ``(index, record)`` pairs into ``report``; keep the usable ones.

    Args:
        records: The records with their index in the file (for messages).
        report: Counts and problems are added here (``read``, ``kept``, ``problems``).
        strict: Raise the first problem that is not fixed as a :class:`DataError` instead of skipping the record.
        fix: See :func:`check_record`.
    """
    kept = []
    for index, record in records:
        report.read += 1
        good, problems = check_record(record, path=report.path, index=index, fix=fix)
        report.problems.extend(problems)
        for p in problems:
            if not p.fixed:
                if strict:
                    raise p.error()
                logger.debug("skipped: %s", p)
        if good is not None:
            kept.append(good)
    report.kept += len(kept)
    return kept


def skip_or_raise(problem: Problem, report: LoadReport, *, strict: bool) -> None:
    """A record that could not even be built: raise it (strict) or count it as read and skipped."""
    if strict:
        raise problem.error()
    report.read += 1
    report.problems.append(problem)
    logger.debug("skipped: %s", problem)


def outside_root(video_root: PathLike, video: str) -> bool:
    """Whether a record's video path leads outside ``video_root``: an absolute path elsewhere, a ``..`` that climbs
    out, or a symlink (the file or a folder on the way) whose target is outside."""
    root = Path(video_root).resolve()
    return not (Path(video_root) / video).resolve().is_relative_to(root)


def check_videos(records: Iterable[Record], video_root: PathLike, report: LoadReport | None = None) -> list[str]:
    """The videos of ``records`` that are not files under ``video_root`` (each path once), counted into ``report``.

    Missing videos are counted, not dropped: the annotation may be read on a machine without the videos. Paths that
    lead outside the root (:func:`outside_root`) are counted apart, as neither present nor missing: a data file
    should not reach files elsewhere on the machine (training refuses them unless ``data.allow_outside_root``).
    """
    root = Path(video_root)
    seen: dict[str, str] = {}
    counts = {"missing": 0, "outside": 0}
    for r in records:
        if r.video not in seen:
            if outside_root(root, r.video):
                seen[r.video] = "outside"
            else:
                seen[r.video] = "present" if (root / r.video).is_file() else "missing"
        if seen[r.video] != "present":
            counts[seen[r.video]] += 1
    missing = [v for v, state in seen.items() if state == "missing"]
    outside = [v for v, state in seen.items() if state == "outside"]
    if report is not None:
        report.missing_videos = counts["missing"]
        report.missing_examples = missing[:5]
        report.outside_root = counts["outside"]
        report.outside_examples = outside[:5]
    if missing:
        logger.warning("%d of %d videos not found under %s (e.g. %s)", len(missing), len(seen), root, missing[0])
    if outside:
        logger.warning("%d of %d video paths lead outside the video root %s (e.g. %s)", len(outside), len(seen),
                       root, outside[0])  # fmt: skip
    return missing


def log_report(report: LoadReport) -> None:
    """Log the report's summary line, and the reasons of the skipped and fixed records."""
    level = logging.WARNING if report.skipped else logging.INFO
    logger.log(level, "%s", report.summary())
    for reason, n in report.reasons().most_common(10):
        logger.log(level, "  %6d x %s", n, reason)
