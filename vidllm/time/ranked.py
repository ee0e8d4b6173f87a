"""Reading detection answers: every interval of an answer as a ranked ``(start, end, score)`` detection.

Temporal action detection asks for *every* instance of a class, and its metric (ActivityNet detection mAP) ranks the
detections by a score. A model's answer gives that ranking in one of two ways:

* **Text order** (the default): the first interval is the most confident. Detection ``k`` (0-based) gets the score
  ``1 / (k + 1)``, the same rank-based score :func:`vidllm.eval.benchmarks.window_scores` gives moment-retrieval
  windows, so the order in the text is the order of the scores.
* **Explicit confidences**, written right after an interval: ``0.0 - 5.2 seconds (0.87)``, ``(score 0.87)``,
  ``score: 0.87``, ``confidence 87%``. They are used only when *every* interval of the answer has one; an answer
  that gives some and not others falls back to text order, because a missing confidence cannot be compared with a
  written one.

Confidences are cut out of the text before the intervals are read, so ``score 0.87 and 6.0 - 8.0`` never reads as
the interval ``0.87 - 6.0``.
"""

from __future__ import annotations

import math
import re

from vidllm.time.parse import find_intervals

_MARK = "\x01"  # stands in for a confidence; survives token normalisation and is never a value or a connector
_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_KEYWORD = r"(?:confidence|conf|score|probability|prob)"
_CONFIDENCE = re.compile(
    rf"""
    \(\s*(?:{_KEYWORD}\s*(?:is|of|:|=)?\s*)?(?P<paren>{_NUM})\s*(?P<paren_pct>%)?\s*\)   # (0.87), (score: 0.87)
  | \b{_KEYWORD}\s*(?:is|of|:|=)?\s*(?P<word>{_NUM})\s*(?P<word_pct>%)?                  # score 0.87, confidence 87%
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _confidence(m: re.Match) -> float | None:
    """The confidence of a match in [0, 1], or ``None`` when it is not one (a bare ``(2)`` is an enumerator)."""
    if m.group("paren") is not None:
        text, pct = m.group("paren"), m.group("paren_pct")
        if pct is None and "." not in text:  # "(1)" / "(2)" number list items, not confidences
            return None
    else:
        text, pct = m.group("word"), m.group("word_pct")
    value = float(text) / (100.0 if pct else 1.0)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _mask_confidences(text: str) -> tuple[str, list[float]]:
    """``text`` with every confidence replaced by one marker character, and the confidences in order."""
    out: list[str] = []
    values: list[float] = []
    last = 0
    for m in _CONFIDENCE.finditer(text):
        value = _confidence(m)
        if value is None:
            continue
        out.append(text[last : m.start()])
        out.append(_MARK)
        values.append(value)
        last = m.end()
    out.append(text[last:])
    return "".join(out), values


def rank_score(rank: int) -> float:
    """The score of the detection at 0-based position ``rank`` in text order: ``1 / (rank + 1)``."""
    return 1.0 / (rank + 1)


def parse_ranked_intervals(
    text: str, *, duration: float | None = None, fps: float | None = None, num_bins: int | None = None
) -> list[tuple[float, float, float]]:
    """Every interval of an answer with its score, in text order (see the module docstring for the scores).

    Args:
        text: A model's answer, in any form :func:`vidllm.time.parse_intervals` reads.
        duration: The video's length in seconds (clips intervals; needed for ``<tk>`` bin tokens).
        fps: The sampling rate of numbered frames, to read "Frame n" references.
        num_bins: The ``bins`` scheme's token count.

    Returns:
        ``[(start, end, score), ...]`` in seconds, in the order the answer lists them; ``[]`` when nothing parses.
        Never raises.
    """
    if not isinstance(text, str):
        return []
    masked, confidences = _mask_confidences(text)
    norm, found = find_intervals(masked, duration=duration, fps=fps, num_bins=num_bins)
    marks = [i for i, c in enumerate(norm) if c == _MARK]
    # A confidence belongs to the interval it follows, when no other interval stands between them.
    own: list[float | None] = [None] * len(found)
    k = 0
    for pos, value in zip(marks, confidences):
        while k + 1 < len(found) and found[k + 1].stop <= pos:
            k += 1
        if found and found[k].stop <= pos and own[k] is None:
            own[k] = value
    kept = [(m, c) for m, c in zip(found, own) if not math.isnan(m.start)]
    explicit = bool(kept) and all(c is not None for _, c in kept)
    return [(m.start, m.end, c if explicit else rank_score(r)) for r, (m, c) in enumerate(kept)]
