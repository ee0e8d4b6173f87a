"""Reading highlight answers: which moments are salient, and how much, as per-clip scores.

Three answer styles are read (time values in any form :mod:`vidllm.time.parse` reads, time tokens included):

* VTG-LLM: ``"0082.0 seconds, significance score: 2.3, <query>. 0084.0 seconds, significance score: 1.7, ..."``
  (also with ``Frame 41`` for numbered frames, or ``<tk>`` bin tokens in place of the seconds)
* TimeChat: ``"There are 3 highlight moments in the 82, 84, 86 seconds. Their saliency scores are 1.3, 1.7, 2.3"``
* NumPro: ``"The highlight frames are in the 41, 42 frames. Their saliency scores are ..."`` (needs ``fps``)

Benchmarks score saliency per fixed-length clip (QVHighlights: 2 s; clip ``i`` covers ``[2i, 2i + 2)``):
:func:`saliency_per_clip` turns the ``(seconds, score)`` points into that list.
"""

from __future__ import annotations

import math
import re

from vidllm.time.parse import tokens_to_digits

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_POINT_SCORE = re.compile(
    rf"(?:(?P<frame>\bframes?[ \t]*)|(?<![A-Za-z_\d.]))(?P<t>{_NUMBER})[ \t]*(?:seconds?|secs?|s)?[ \t]*,?[ \t]*"
    rf"(?:significance|saliency|relevance|highlight)[ \t]+score[ \t]*(?:is|of|:|=)?[ \t]*(?P<s>{_NUMBER})",
    re.IGNORECASE,
)
_LIST = re.compile(rf"(?<![A-Za-z_\d.]){_NUMBER}(?:[ \t]*(?:,|and|, and)[ \t]*{_NUMBER})*(?P<unit>[ \t]*frames?\b)?")
_SCORE_WORD = re.compile(r"\bscores?\b", re.IGNORECASE)
_FRAME_WORD = re.compile(r"\bframes?\b", re.IGNORECASE)


def _numbers(run: str) -> list[float]:
    return [float(x) for x in re.findall(_NUMBER, run)]


def parse_highlights(
    text: str, *, fps: float | None = None, duration: float | None = None, num_bins: int | None = None
) -> list[tuple[float, float]]:
    """The ``(seconds, score)`` points of a highlight answer, in order of appearance.

    Args:
        text: The model's answer.
        fps: Sampling rate of numbered frames, to read answers given in frame numbers.
        duration: The video's length: points after it are dropped; also reads ``<tk>`` bin tokens.
        num_bins: The ``bins`` scheme's token count, to read ``<tk>`` tokens.

    Returns:
        A list of ``(seconds, score)``; a time listed without a score gets score 1.0. ``[]`` if nothing parses.
    """
    if not isinstance(text, str):
        return []
    text = tokens_to_digits(text, duration=duration, num_bins=num_bins)
    points = []
    for m in _POINT_SCORE.finditer(text):
        t = float(m.group("t"))
        if m.group("frame"):  # "Frame 41, significance score: 2.0": a frame number, read only with the fps
            if not fps:
                continue
            t /= fps
        points.append((t, float(m.group("s"))))
    if not points:
        points = _parse_listed(text, fps)
    keep = []
    for t, s in points:
        if math.isfinite(t) and math.isfinite(s) and (duration is None or t <= duration):
            keep.append((t, s))
    return keep


def _parse_listed(text: str, fps: float | None) -> list[tuple[float, float]]:
    """TimeChat / NumPro style: a list of times (or frames), then a list of scores after the word "score"."""
    split = _SCORE_WORD.search(text)
    before, after = (text[: split.start()], text[split.end() :]) if split else (text, "")
    runs = list(_LIST.finditer(before))
    if not runs:
        return []
    # "There are 3 highlight moments in the 82, 84, 86 seconds": the count is a run too; the longest run wins.
    best = max(runs, key=lambda m: (len(_numbers(m.group(0))), m.start()))
    times = _numbers(best.group(0).removesuffix(best.group("unit") or ""))
    in_frames = bool(best.group("unit")) or bool(_FRAME_WORD.search(before[: best.start()]))
    if in_frames:
        if not fps:
            return []
        times = [n / fps for n in times]
    score_run = _LIST.search(after)
    scores = _numbers(score_run.group(0)) if score_run else []
    return [(t, scores[k] if k < len(scores) else 1.0) for k, t in enumerate(times)]


def saliency_per_clip(points: list[tuple[float, float]], num_clips: int, *, clip_length: float = 2.0) -> list[float]:
    """Per-clip saliency from ``(seconds, score)`` points; clip ``i`` covers ``[i, i + 1) * clip_length``.

    A clip holds the highest score of the points in it and 0.0 when none falls in it; points outside the
    ``num_clips`` clips are ignored.
    """
    scores = [0.0] * max(num_clips, 0)
    for t, s in points:
        i = math.floor(t / clip_length)
        if 0 <= i < num_clips:
            scores[i] = max(scores[i], s)
    return scores
