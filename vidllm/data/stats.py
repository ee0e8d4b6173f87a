"""``vidllm data stats FILE``: counts per task, histograms of durations and interval lengths, problems found.

:func:`compute_stats` is pure (records and report in, :class:`DataStats` out); :func:`format_stats` writes it as
text, the form the CLI prints.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vidllm.data.records import TASKS, Record
from vidllm.data.validate import LoadReport

DURATION_EDGES = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Upper edges (seconds) of the video-duration histogram bins; the last bin is open."""
LENGTH_EDGES = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
"""Upper edges (seconds) of the interval-length histogram bins; the last bin is open."""


@dataclass
class Histogram:
    """Counts of values in bins ``[0, e0), [e0, e1), ..., [e_last, inf)``."""

    edges: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: int = 0
    mean: float = math.nan

    @classmethod
    def of(cls, values: Sequence[float], edges: tuple[float, ...]) -> Histogram:
        """The histogram of ``values``."""
        counts = [0] * (len(edges) + 1)
        for v in values:
            counts[bisect.bisect_right(edges, v)] += 1
        mean = sum(values) / len(values) if values else math.nan
        return cls(edges, counts, len(values), mean)

    def labels(self) -> list[str]:
        """``"0-15 s"``-style bin labels."""
        lows = (0.0, *self.edges)
        out = [f"{_num(lo)}-{_num(hi)} s" for lo, hi in zip(lows, self.edges)]
        return [*out, f">= {_num(self.edges[-1])} s"]


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass
class DataStats:
    """What :func:`compute_stats` found.

    Attributes:
        records: Number of records.
        videos: Number of distinct videos.
        per_task: Records per task.
        with_duration: Records whose video duration is known.
        durations: Histogram of the video durations (each video once).
        interval_lengths: Histogram of the lengths of all intervals and captioned events.
        events_per_record: Mean number of intervals / events / saliency points per record, per task.
        report: The reader's report (problems found), if any.
    """

    records: int
    videos: int
    per_task: Counter
    with_duration: int
    durations: Histogram
    interval_lengths: Histogram
    events_per_record: dict[str, float]
    report: LoadReport | None = None


def compute_stats(records: Iterable[Record], report: LoadReport | None = None) -> DataStats:
    """Counts and histograms of ``records`` (see :class:`DataStats`)."""
    per_task: Counter = Counter()
    durations: dict[str, float] = {}
    videos: set[str] = set()
    lengths: list[float] = []
    events: Counter = Counter()
    n = with_duration = 0
    for r in records:
        n += 1
        per_task[r.task] += 1
        videos.add(r.video)
        if r.duration is not None:
            with_duration += 1
            durations.setdefault(r.video, r.duration)
        t = r.targets
        lengths.extend(e - s for s, e in t.intervals)
        lengths.extend(e - s for s, e, _ in t.captions)
        events[r.task] += len(t.intervals) + len(t.captions) + len(t.saliency)
    per_record = {task: events[task] / per_task[task] for task in per_task}
    return DataStats(
        records=n,
        videos=len(videos),
        per_task=per_task,
        with_duration=with_duration,
        durations=Histogram.of(list(durations.values()), DURATION_EDGES),
        interval_lengths=Histogram.of(lengths, LENGTH_EDGES),
        events_per_record=per_record,
        report=report,
    )


def _bar(count: int, top: int, width: int = 30) -> str:
    return "#" * (round(width * count / top) if top else 0)


def _histogram_lines(title: str, h: Histogram) -> list[str]:
    if not h.total:
        return [f"{title}: none known"]
    lines = [f"{title} ({h.total}, mean {h.mean:.1f} s):"]
    top = max(h.counts)
    for label, c in zip(h.labels(), h.counts):
        lines.append(f"  {label:>12} {c:>7}  {_bar(c, top)}".rstrip())
    return lines


def format_stats(stats: DataStats, *, max_reasons: int = 10) -> str:
    """The stats as plain text (what ``vidllm data stats`` prints)."""
    lines = [f"{stats.records} records, {stats.videos} videos, {stats.with_duration} with a known duration"]
    if stats.report is not None:
        lines.append(stats.report.summary())
    lines.append("per task:")
    for task in [*TASKS, *sorted(set(stats.per_task) - set(TASKS))]:
        if stats.per_task[task]:
            lines.append(
                f"  {task:>4} {stats.per_task[task]:>7}  ({stats.events_per_record[task]:.1f} targets per record)"
            )
    lines += _histogram_lines("video durations", stats.durations)
    lines += _histogram_lines("interval lengths", stats.interval_lengths)
    if stats.report is not None and stats.report.problems:
        reasons = stats.report.reasons()
        lines.append(f"problems ({len(stats.report.problems)}, {len(reasons)} kinds):")
        for reason, c in reasons.most_common(max_reasons):
            lines.append(f"  {c:>7} x {reason}")
        first = next((p for p in stats.report.problems if not p.fixed), stats.report.problems[0])
        lines.append(f"  first: {first}")
    if stats.report is not None and stats.report.missing_videos:
        lines.append(f"missing videos: {stats.report.missing_videos} records, e.g. {stats.report.missing_examples}")
    if stats.report is not None and stats.report.outside_root:
        lines.append(
            f"outside the video root: {stats.report.outside_root} records (absolute, '..' or symlinked paths), "
            f"e.g. {stats.report.outside_examples}"
        )
    return "\n".join(lines)
