"""The answer on the video's timeline: parsed intervals and saliency as an SVG bar, thumbnails at those times.

Pure functions: parsed answers (seconds) in, HTML / frames out. Every interval is a ``<rect data-t="start">``; the
demo's page seeks its video player to ``data-t`` when one is clicked.

>>> html = timeline_html([(2.0, 4.0, "the door opens")], duration=10.0)
>>> 'data-t="2.000"' in html
True
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vidllm.time import parse_captions, parse_highlights, parse_intervals, saliency_per_clip

WIDTH = 800
BAR_HEIGHT = 28
CURVE_HEIGHT = 60
COLORS = ("#e4572e", "#17bebb", "#ffc914", "#76b041", "#2e86ab", "#a23b72")
HIGHLIGHT_WORDS = ("highlight", "saliency", "salient")


@dataclass
class ParsedAnswer:
    """What an answer says about time.

    Attributes:
        events: ``(start, end, label)`` intervals in seconds, in order of appearance.
        points: ``(seconds, score)`` highlight points (empty unless the answer is a highlight answer).
    """

    events: list[tuple[float, float, str]] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)


def parse_answer(
    question: str,
    answer: str,
    *,
    duration: float,
    fps: float | None = None,
    num_bins: int | None = None,
) -> ParsedAnswer:
    """Read an answer's times with :mod:`vidllm.time`: highlights for highlight questions, else captioned intervals.

    Args:
        question: The user's question (a highlight question asks for saliency).
        answer: The model's answer.
        duration: The video's length in seconds.
        fps: Sampling rate of numbered frames (``frames`` scheme answers).
        num_bins: Token count of the ``bins`` scheme.
    """
    kwargs = {"duration": duration, "fps": fps, "num_bins": num_bins}
    parsed = ParsedAnswer()
    if any(word in question.lower() for word in HIGHLIGHT_WORDS) or "score" in answer.lower():
        parsed.points = parse_highlights(answer, **kwargs)
    if not parsed.points:
        parsed.events = parse_captions(answer, **kwargs)
        if not parsed.events:
            parsed.events = [(s, e, "") for s, e in parse_intervals(answer, **kwargs)]
    return parsed


def _clock(seconds: float) -> str:
    return f"{seconds:.1f}s"


def timeline_html(
    events: Sequence[tuple[float, float, str]],
    duration: float,
    points: Sequence[tuple[float, float]] = (),
    *,
    clip_length: float = 2.0,
) -> str:
    """An SVG timeline of ``[0, duration]``: one clickable bar per interval, and the saliency curve of ``points``.

    Args:
        events: ``(start, end, label)`` in seconds.
        duration: The video's length in seconds (> 0).
        points: ``(seconds, score)`` highlight points; drawn as per-clip saliency.
        clip_length: Clip length of the saliency curve.

    Returns:
        An HTML fragment (``<div class="vidllm-timeline">``); a note when nothing was found.
    """
    if duration <= 0:
        return '<div class="vidllm-timeline"><em>No video loaded.</em></div>'
    scale = WIDTH / duration
    parts = [f'<rect x="0" y="0" width="{WIDTH}" height="{BAR_HEIGHT}" fill="#e5e7eb" rx="4"/>']
    for k, (start, end, label) in enumerate(events):
        x, w = start * scale, max((end - start) * scale, 3.0)
        title = html_lib.escape(f"{_clock(start)} - {_clock(end)} {label}".strip())
        parts.append(
            f'<rect class="vidllm-interval" data-t="{start:.3f}" x="{x:.1f}" y="2" width="{w:.1f}" '
            f'height="{BAR_HEIGHT - 4}" fill="{COLORS[k % len(COLORS)]}" rx="3" style="cursor:pointer">'
            f"<title>{title} (click to seek)</title></rect>"
        )
    height = BAR_HEIGHT + 16
    if points:
        num_clips = max(1, int(np.ceil(duration / clip_length)))
        scores = saliency_per_clip(list(points), num_clips, clip_length=clip_length)
        top = max(max(scores), 1e-9)
        y0 = BAR_HEIGHT + 8
        coords = " ".join(
            f"{(i + 0.5) * clip_length * scale:.1f},{y0 + CURVE_HEIGHT * (1 - s / top):.1f}"
            for i, s in enumerate(scores)
        )
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#2e86ab" stroke-width="2"/>')
        for t, s in points:
            parts.append(
                f'<circle class="vidllm-interval" data-t="{t:.3f}" cx="{t * scale:.1f}" '
                f'cy="{y0 + CURVE_HEIGHT * (1 - min(s / top, 1.0)):.1f}" r="4" fill="#a23b72" style="cursor:pointer">'
                f"<title>{_clock(t)}: score {s:g}</title></circle>"
            )
        height = y0 + CURVE_HEIGHT + 16
    ticks = 5
    for i in range(ticks + 1):
        t = duration * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<text x="{t * scale:.1f}" y="{height - 2}" font-size="11" text-anchor="{anchor}">{_clock(t)}</text>'
        )
    svg = f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    if events:
        items = "".join(
            f'<li><a href="#" class="vidllm-interval" data-t="{s:.3f}">{_clock(s)} - {_clock(e)}</a> '
            f"{html_lib.escape(label)}</li>"
            for s, e, label in events
        )
        legend = f"<ol>{items}</ol>"
    elif points:
        legend = f"<p>{len(points)} highlight points (saliency per {clip_length:g}s clip).</p>"
    else:
        legend = "<p><em>No times found in the answer.</em></p>"
    return f'<div class="vidllm-timeline">{svg}{legend}</div>'


def thumbnails(
    frames: np.ndarray,
    timestamps: np.ndarray,
    times: Sequence[float],
    labels: Sequence[str] | None = None,
) -> list[tuple[np.ndarray, str]]:
    """The sampled frame on screen at each of ``times`` (the last one shown at or before it), with a caption.

    Args:
        frames: ``uint8`` ``(T, H, W, 3)`` frames as :func:`vidllm.video.read_frames` returns them.
        timestamps: Their times in seconds ``(T,)``.
        times: Seconds to show.
        labels: Caption suffix per time.
    """
    if len(frames) == 0:
        return []
    out = []
    for k, t in enumerate(times):
        i = int(np.clip(np.searchsorted(timestamps, t, side="right") - 1, 0, len(frames) - 1))
        label = labels[k] if labels is not None and k < len(labels) else ""
        out.append((frames[i], f"{_clock(t)} {label}".strip()))
    return out
