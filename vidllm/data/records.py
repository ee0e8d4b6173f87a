"""One record for every temporal task, with its targets in seconds, and the answer text rendered from them.

A :class:`Record` is one question about one video and what the answer must contain: the intervals of a moment
(``mr``), the captioned events of a video (``dvc``), the per-clip saliency of a query (``vhd``) or of the video
itself (``vs``), or a free-text answer (``qa``). Times are seconds (float) everywhere inside; the answer *text* is
written only when it is needed, by :func:`render_answer` with a :mod:`vidllm.time` scheme, so one data file trains
any scheme.

Answer shapes (``{span}`` is ``scheme.format_span(start, end)``, ``{t}`` is ``scheme.encode(t)``)::

    mr    {span}, {query}.                                     (several spans: "{span}, {span}, {query}.")
    tad   {span}, {span}, ..., {query}.                        (every instance of the class, as mr)
    dvc   {span}, {caption}. {span}, {caption}. ...
    vhd   {point}, significance score: 2.3, {query}. ...   ({point} is scheme.format_point(t); VTG-LLM style)
    vs    the same, without the query when there is none
    qa    the answer text, as given

With the ``frames`` scheme highlights are written the way NumPro writes them ("The highlight frames are in the
41, 42 frames. Their saliency scores are 1.3, 1.7."), since a frame number followed by "seconds" would read as
seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vidllm.io import PathLike
from vidllm.time import TimeScheme, saliency_per_clip

TASKS: dict[str, str] = {
    "mr": "moment retrieval (temporal grounding): the interval(s) where a query happens",
    "dvc": "dense video captioning: every event of the video, with its interval and caption",
    "vhd": "highlight detection: per-clip saliency of a query",
    "vs": "video summarization: per-clip saliency of the video itself",
    "qa": "free-text question answering (no time targets)",
    "tad": "temporal action detection: every instance of an action class (the class name is the query)",
}
"""The task names a record may carry, and what each means."""

TIME_TASKS = ("mr", "dvc", "vhd", "vs", "tad")


@dataclass(frozen=True)
class Targets:
    """What an answer must say, in seconds.

    Attributes:
        intervals: ``(start, end)`` of each moment (``mr``).
        captions: ``(start, end, text)`` of each event (``dvc``), text without a final period.
        saliency: ``(clip_start, score)`` for each scored clip (``vhd``/``vs``); the clip covers
            ``[clip_start, clip_start + clip_length)``. Clips not listed have no score (0 for the benchmarks).
        clip_length: The length of a saliency clip in seconds (QVHighlights: 2).
    """

    intervals: tuple[tuple[float, float], ...] = ()
    captions: tuple[tuple[float, float, str], ...] = ()
    saliency: tuple[tuple[float, float], ...] = ()
    clip_length: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able lists."""
        return {
            "intervals": [list(i) for i in self.intervals],
            "captions": [list(c) for c in self.captions],
            "saliency": [list(p) for p in self.saliency],
            "clip_length": self.clip_length,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Targets:
        """Inverse of :meth:`to_dict` (no checks: :mod:`vidllm.data.validate` checks records)."""
        return cls(
            intervals=tuple((float(s), float(e)) for s, e in obj.get("intervals") or ()),
            captions=tuple((float(s), float(e), str(t)) for s, e, t in obj.get("captions") or ()),
            saliency=tuple((float(t), float(v)) for t, v in obj.get("saliency") or ()),
            clip_length=float(obj.get("clip_length", 2.0)),
        )


@dataclass(frozen=True)
class Record:
    """One question about one video, and its targets.

    Attributes:
        video: The video's path, relative to a video root (see :meth:`video_path`).
        task: One of :data:`TASKS`.
        prompt: The user's question (the last user turn), without any video placeholder.
        targets: The targets in seconds.
        duration: The video's length in seconds, when known (the ``bins`` scheme needs it).
        query: The sentence a ``mr``/``vhd`` answer refers to, when known.
        answer: The answer text as read from the source file (kept for ``qa``, which has no targets; for the time
            tasks it is only a record of the source: :func:`render_answer` writes the answer from the targets).
        system: A system prompt, if the source had one.
        history: Earlier ``(user, assistant)`` turns of the same conversation, oldest first.
        source: Where the record came from (``file:index``), for messages.
        meta: Anything else worth keeping (``qid``, dataset name, ...); JSON-able values only.
    """

    video: str
    task: str
    prompt: str
    targets: Targets = field(default_factory=Targets)
    duration: float | None = None
    query: str | None = None
    answer: str | None = None
    system: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def video_path(self, video_root: PathLike | None = None) -> Path:
        """The video file: ``video_root / video`` (or ``video`` alone without a root)."""
        return Path(video_root) / self.video if video_root is not None else Path(self.video)

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the form cached in Arrow and written by :func:`write_records`)."""
        return {
            "video": self.video,
            "task": self.task,
            "prompt": self.prompt,
            "targets": self.targets.to_dict(),
            "duration": self.duration,
            "query": self.query,
            "answer": self.answer,
            "system": self.system,
            "history": [list(h) for h in self.history],
            "source": self.source,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Record:
        """Inverse of :meth:`to_dict`."""
        duration = obj.get("duration")
        return cls(
            video=obj["video"],
            task=obj["task"],
            prompt=obj["prompt"],
            targets=Targets.from_dict(obj.get("targets") or {}),
            duration=float(duration) if duration is not None else None,
            query=obj.get("query"),
            answer=obj.get("answer"),
            system=obj.get("system"),
            history=tuple((u, a) for u, a in obj.get("history") or ()),
            source=obj.get("source"),
            meta=dict(obj.get("meta") or {}),
        )


def _sentence(text: str) -> str:
    """``text`` stripped, without trailing periods (the renderer adds exactly one)."""
    return text.strip().rstrip(".").strip()


def _score(value: float) -> str:
    # Scores are not times: one decimal, as VTG-IT and TimeIT write them.
    return f"{value:.1f}"


def render_answer(record: Record, scheme: TimeScheme) -> str:
    """The answer text of ``record`` with its times written in ``scheme`` (see the module docstring for shapes).

    Args:
        record: The record; ``record.duration`` is passed to the scheme (the ``bins`` scheme needs it).
        scheme: A :mod:`vidllm.time` scheme (``get_scheme("vtgllm")``, ``get_scheme("frames", fps=0.5)``, ...).

    Raises:
        ValueError: The task has no targets to write (e.g. an ``mr`` record without intervals), the task is
            unknown, or the scheme refuses a time (``bins`` without a duration).
    """
    t = record.targets
    d = record.duration
    if record.task == "qa":
        if record.answer is None:
            raise ValueError(f"{record.source or record.video}: a 'qa' record needs its answer text")
        return record.answer
    if record.task in ("mr", "tad"):
        if not t.intervals:
            raise ValueError(f"{record.source or record.video}: a '{record.task}' record needs at least one interval")
        spans = ", ".join(scheme.format_span(s, e, duration=d) for s, e in t.intervals)
        query = _sentence(record.query or "")
        return f"{spans}, {query}." if query else f"{spans}."
    if record.task == "dvc":
        if not t.captions:
            raise ValueError(f"{record.source or record.video}: a 'dvc' record needs at least one caption")
        return " ".join(f"{scheme.format_span(s, e, duration=d)}, {_sentence(c)}." for s, e, c in t.captions)
    if record.task in ("vhd", "vs"):
        if not t.saliency:
            raise ValueError(f"{record.source or record.video}: a '{record.task}' record needs saliency points")
        return _render_highlights(t.saliency, scheme, d, _sentence(record.query or ""))
    raise ValueError(f"unknown task {record.task!r}; valid tasks: {', '.join(TASKS)}")


def _render_highlights(points, scheme: TimeScheme, duration: float | None, query: str) -> str:
    if scheme.name == "frames":  # NumPro's list style
        frames = [scheme.encode(p, duration=duration) for p, _ in points]
        return (
            f"The highlight frames are in the {', '.join(frames)} frames. "
            f"Their saliency scores are {', '.join(_score(s) for _, s in points)}."
        )
    tail = f", {query}." if query else "."
    return " ".join(
        f"{scheme.format_point(p, duration=duration)}, significance score: {_score(s)}{tail}" for p, s in points
    )


def saliency_vector(record: Record, num_clips: int | None = None) -> list[float]:
    """The record's saliency as one score per clip (0.0 where no point falls), as the highlight scorers read it.

    Args:
        record: A ``vhd``/``vs`` record.
        num_clips: How many clips; default: ``int(duration / clip_length)`` when the duration is known (as
            QVHighlights counts them), else up to the last scored clip.
    """
    t = record.targets
    if num_clips is None:
        if record.duration is not None:
            num_clips = int(record.duration / t.clip_length)
        else:
            num_clips = max((math.floor(p / t.clip_length) + 1 for p, _ in t.saliency), default=0)
    return saliency_per_clip(list(t.saliency), num_clips, clip_length=t.clip_length)


def write_records(records, path: PathLike) -> Path:
    """Write records as JSON lines of :meth:`Record.to_dict` (vidllm's own lossless form)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    return path
