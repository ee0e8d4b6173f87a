"""Reading times back out of generated text: intervals, highlight scores and dense captions.

The parser reads every scheme of :mod:`vidllm.time.schemes` and the forms real models write::

    12.5 - 20 seconds        from 12.5 to 20.0        between 3 and 7 s        12.5s-20s
    0:12 - 0:20              1:02:03.5 - 1:02:09      From Frame 3 to Frame 9  [12.5, 20.0]
    <TIME_ZERO><TIME_ZERO><TIME_ONE><TIME_TWO><TIME_DOT><TIME_FIVE> - ...      <t3> - <t7>

How it works, in two linear passes: time tokens are first rewritten as plain numbers, then one regex finds every
time *value* (a number, a clock time or a frame reference) and two consecutive values form an interval when the text
between them is a connector ("-", "to", "and", ...). Each step is a regex without nested repetition scanning the
text once, so the cost is linear in the text length, and no input makes it raise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vidllm.time.schemes import VTGLLM_TOKEN_TO_CHAR

_VTG_TOKEN = re.compile(r"<TIME_(?:ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|DOT)>")
# A run of VTG-LLM tokens is one number; tokenizers often decode it with spaces between the tokens.
_VTG_RUN = re.compile(
    r"(?:<TIME_(?:ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|DOT)>[ \t]*)*"
    r"<TIME_(?:ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|DOT)>"
)
_BIN_TOKEN = re.compile(r"<t(\d{1,6})>")
_TIME_TOKEN_RUN = re.compile(f"{_VTG_RUN.pattern}|{_BIN_TOKEN.pattern}")

_VALUE = re.compile(
    r"""
    (?:(?P<frame>\bframes?\b[ \t]*(?:no\.|number|\#)?[ \t]*)|(?<![A-Za-z_\d.]))
    (?:(?P<clock>\d+(?::\d{1,2}){1,2}(?:\.\d+)?)|(?P<num>\d+(?:\.\d+)?|\.\d+))
    (?P<unit>[ \t]*(?:seconds?|secs?|s)\b)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CONNECTOR = re.compile(
    r"""\s*(?:
        -+|–|—|~|to|and|until|till|through|thru
      | (?:and\s+|,\s*)?(?:ends?|ending|finish(?:es|ing)?|stops?)(?:\s+at)?
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_COMMA = re.compile(r"\s*,\s*")


@dataclass(frozen=True)
class _Value:
    seconds: float | None  # None: a frame number read without an fps
    frame_number: float | None  # set for "Frame n" references
    begin: int
    end: int


@dataclass(frozen=True)
class IntervalMatch:
    """One interval found in (normalised) text: seconds, and where it stands in that text."""

    start: float
    end: float
    begin: int
    stop: int


def _normalise(text: str, duration: float | None, num_bins: int | None) -> tuple[str, list[tuple[int, int]] | None]:
    """Rewrite time tokens as numbers; also return where those numbers stand (``None`` if the text had no tokens).

    When an answer writes its times as tokens, digits elsewhere belong to the words ("cook for 15-20 seconds"):
    the regions let the caller read times from the tokens only.
    """
    out: list[str] = []
    regions: list[tuple[int, int]] = []
    size = 0
    last = 0
    for m in _TIME_TOKEN_RUN.finditer(text):
        out.append(text[last : m.start()])
        size += m.start() - last
        number = _run_to_number(m, duration, num_bins)
        out.append(number)
        if number != "<t?>":
            regions.append((size, size + len(number)))
        size += len(number)
        last = m.end()
    if last == 0:
        return text, None
    out.append(text[last:])
    return "".join(out), regions


def _run_to_number(m: re.Match, duration: float | None, num_bins: int | None) -> str:
    if m.group(1) is None:  # a run of VTG-LLM digit/dot tokens
        return "".join(VTGLLM_TOKEN_TO_CHAR[t] for t in _VTG_TOKEN.findall(m.group(0)))
    k = int(m.group(1))
    if duration is None or num_bins is None or num_bins < 2 or k >= num_bins or not duration > 0:
        return "<t?>"  # an index that cannot be read must never pass for seconds
    return repr(k * duration / (num_bins - 1))


def tokens_to_digits(text: str, *, duration: float | None = None, num_bins: int | None = None) -> str:
    """Rewrite time tokens as plain numbers: VTG-LLM digit/dot tokens always, ``<tk>`` bins when they can be read.

    Token runs may have spaces inside (tokenizers often decode them so). A bin token is read only with the video's
    ``duration`` and the scheme's ``num_bins``; otherwise it becomes ``<t?>`` so its index is never taken as seconds.
    """
    return _normalise(text, duration, num_bins)[0]


def _clock_seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]  # float, not int: int() refuses strings of > 4300 digits
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def parse_time(text: str) -> float | None:
    """One time written on its own: ``"12.5"``, ``"12.5 s"``, ``"2:35"`` (m:ss), ``"1:02:03.5"``; else ``None``.

    For annotation fields that hold a single time (e.g. a video length column), not for model answers.
    """
    if not isinstance(text, str):
        return None
    m = _VALUE.fullmatch(text.strip())
    if m is None or m.group("frame"):
        return None
    seconds = _clock_seconds(m.group("clock")) if m.group("clock") else float(m.group("num"))
    return seconds if math.isfinite(seconds) else None


def _values(text: str, fps: float | None, regions: list[tuple[int, int]] | None = None) -> list[_Value]:
    values = []
    inside = iter(regions or [])
    region = next(inside, None)
    for m in _VALUE.finditer(text):
        if regions is not None:
            first = m.start("clock") if m.group("clock") else m.start("num")
            while region is not None and region[1] <= first:
                region = next(inside, None)
            if region is None or not region[0] <= first < region[1]:
                continue
        number = _clock_seconds(m.group("clock")) if m.group("clock") else float(m.group("num"))
        if not math.isfinite(number):
            continue
        if m.group("frame"):
            seconds = number / fps if fps else None
            values.append(_Value(seconds, number, m.start(), m.end()))
        else:
            values.append(_Value(number, None, m.start(), m.end()))
    return values


def _is_bracket_pair(text: str, a: _Value, b: _Value) -> bool:
    """``[12.5, 20.0]`` / ``(3, 7)``: a comma-separated pair directly inside brackets."""
    if not _COMMA.fullmatch(text, a.end, b.begin):
        return False
    before = text[: a.begin].rstrip()[-1:]
    after = text[b.end :].lstrip()[:1]
    return before in "[(" and before != "" and after in "])" and after != ""


def _pair_seconds(a: _Value, b: _Value, fps: float | None) -> tuple[float, float] | None:
    if a.frame_number is None and b.frame_number is None:
        return a.seconds, b.seconds
    # "From Frame 3 to 9": one frame reference makes the pair frame numbers.
    if not fps:
        return None
    first = a.frame_number if a.frame_number is not None else a.seconds
    second = b.frame_number if b.frame_number is not None else b.seconds
    return first / fps, second / fps


def _clip(
    pair: tuple[float, float] | None, duration: float | None, keep_order: bool = False
) -> tuple[float, float] | None:
    if pair is None:
        return None
    start, end = min(pair), max(pair)
    if duration is not None and math.isfinite(duration):
        if start > duration:
            return None
        start, end = max(start, 0.0), min(end, max(duration, 0.0))
    if keep_order and pair[0] > pair[1]:
        return float(end), float(start)
    return float(start), float(end)


def find_intervals(
    text: str,
    *,
    duration: float | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    keep_order: bool = False,
) -> tuple[str, list[IntervalMatch]]:
    """Find every interval written in ``text``; returns the token-normalised text and the matches located in it.

    The same rules as :func:`parse_intervals`, but an interval that cannot be used (a frame reference without
    ``fps``, a start after ``duration``) is kept with ``start = end = nan`` so callers that read the text between
    intervals (captions) still know where it stood. ``keep_order`` keeps a reversed pair reversed (see
    :func:`parse_intervals`).
    """
    text, regions = _normalise(text, duration, num_bins)
    values = _values(text, fps, regions)
    found: list[IntervalMatch] = []
    i = 0
    while i + 1 < len(values):
        a, b = values[i], values[i + 1]
        if not (_CONNECTOR.fullmatch(text, a.end, b.begin) or _is_bracket_pair(text, a, b)):
            i += 1
            continue
        i += 2
        span = _clip(_pair_seconds(a, b, fps), duration, keep_order)
        start, end = span if span is not None else (math.nan, math.nan)
        found.append(IntervalMatch(start, end, a.begin, b.end))
    return text, found


def interval_spans(
    text: str, *, duration: float | None = None, fps: float | None = None, num_bins: int | None = None
) -> list[tuple[float, float, int, int]]:
    """Every usable interval of ``text`` as :func:`parse_intervals` reads it, with the characters that write it.

    Returns:
        ``[(start, end, begin, stop), ...]``: seconds as :func:`parse_intervals` gives them, and the span
        ``text[begin:stop]`` of the original text (time tokens included) from the first value to the second, with
        its unit when one is written (``2.5 - 7 seconds``).
    """
    if not isinstance(text, str):
        return []
    found = find_intervals(text, duration=duration, fps=fps, num_bins=num_bins)[1]
    back = _original_positions(text, duration, num_bins)
    return [(m.start, m.end, back[m.begin], back[m.stop]) for m in found if not math.isnan(m.start)]


def _original_positions(text: str, duration: float | None, num_bins: int | None) -> list[int]:
    """For each position of the token-normalised text (and its end), the position in ``text`` it comes from."""
    back: list[int] = []
    last = 0
    for m in _TIME_TOKEN_RUN.finditer(text):
        back.extend(range(last, m.start()))
        back.extend([m.start()] * len(_run_to_number(m, duration, num_bins)))
        last = m.end()
    back.extend(range(last, len(text) + 1))
    return back


def parse_intervals(
    text: str,
    *,
    duration: float | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    keep_order: bool = False,
) -> list[tuple[float, float]]:
    """Every interval in ``text``, in order of appearance, in seconds.

    Args:
        text: A model's answer (any scheme; see the module docstring for the forms read).
        duration: The video's length in seconds. With it, intervals are clipped to ``[0, duration]`` and those
            starting after it are dropped; it is also needed to read ``<tk>`` bin tokens.
        fps: The sampling rate of numbered frames; needed to read "Frame n" references (frame n is ``n / fps`` s).
        num_bins: The number of ``<tk>`` tokens of the ``bins`` scheme, to read them.
        keep_order: Return a pair written end first (``"9 - 4 seconds"``) as written, ``(9.0, 4.0)``, instead of
            swapping it -- for readers of training data, whose validator swaps it and counts the fix.

    Returns:
        ``[(start, end), ...]`` with ``start <= end`` (a reversed pair is swapped unless ``keep_order``); ``[]`` when
        nothing parses.
    """
    if not isinstance(text, str):
        return []
    found = find_intervals(text, duration=duration, fps=fps, num_bins=num_bins, keep_order=keep_order)[1]
    return [(m.start, m.end) for m in found if not math.isnan(m.start)]


_CAPTION_LEAD = re.compile(r"^[\s,:;.\-–—]+")
_CAPTION_TAIL = re.compile(r"\s*(?:\b(?:from|between|at)\s*)?$", re.IGNORECASE)


def parse_captions(
    text: str,
    *,
    duration: float | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    keep_order: bool = False,
) -> list[tuple[float, float, str]]:
    """Dense-captioning answers: ``"s - e seconds, caption. s - e seconds, caption."`` -> ``[(s, e, caption)]``.

    A caption is the text after an interval up to the next interval, without the leading punctuation. Any scheme
    the interval parser reads works; arguments as in :func:`parse_intervals`.
    """
    if not isinstance(text, str):
        return []
    norm, found = find_intervals(text, duration=duration, fps=fps, num_bins=num_bins, keep_order=keep_order)
    events = []
    for k, m in enumerate(found):
        stop = found[k + 1].begin if k + 1 < len(found) else len(norm)
        if math.isnan(m.start):
            continue
        caption = _CAPTION_TAIL.sub("", _CAPTION_LEAD.sub("", norm[m.stop : stop]))
        events.append((m.start, m.end, caption.strip()))
    return events
