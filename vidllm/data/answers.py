"""Reading instruction answers back into targets: which task an answer is, and its times in seconds.

VTG-IT, TimeIT and sharegpt files carry answers as text; vidllm keeps the times they say (decoded with
:mod:`vidllm.time`, whatever scheme wrote them) and writes the text again with the scheme a run trains.

**The task rule** (:func:`infer_task`), applied in this order:

1. The answer gives scores (``significance score: 2.3`` / ``saliency scores are ...``): a highlight answer. It is
   ``vs`` (video summarization) when the question asks for a summary ("summar..."), names no query, or its query is
   one of VTG-LLM's generic summary captions (:data:`SUMMARY_CAPTIONS`, "Key scenes captured in the video." ...);
   otherwise ``vhd``. Without a quoted query, a question that still speaks of a "query"/"description" (TimeIT's
   highlight prompts) is ``vhd``.
2. The answer has two or more intervals: ``dvc`` (dense captioning, step localization and speech transcripts all
   have this shape).
3. The answer has one interval: ``mr``.
4. No readable time, but the question is a grounding question (one of the shipped moment-retrieval templates,
   :func:`is_grounding_question`) or the answer writes an interval that cannot be read as finite seconds
   (``1e309 - 1e310 seconds``): ``mr`` -- whose record the validator then skips and counts, as it has no interval,
   instead of keeping a grounding question with an unreadable answer as a text answer to learn.
5. No time at all: ``qa``.

Reversed intervals are returned as written (``keep_order``): the validator swaps them and counts each as fixed.

A file may also name the task per item (``"task": "mr"``); readers take that over the rule.
"""

from __future__ import annotations

import functools
import re

from vidllm.data.records import Targets
from vidllm.time import parse_captions, parse_highlights, parse_intervals

SUMMARY_CAPTIONS = (
    "Crucial moments in the video.",
    "Key scenes captured in the video.",
    "Significant frames from the video.",
    "Essential moments of the video.",
    "Noteworthy frames in the video.",
    "Pivotal points in the video.",
    "Prominent frames throughout the video.",
    "Important visual highlights of the video.",
    "Remarkable frames of the video.",
)
"""The captions VTG-LLM put in place of a query in its video-summarization items (``utils/parse_annotation_vs.py``
of gyxxyg/VTG-LLM): a highlight answer about one of them is about the whole video."""

_SUMMARY_KEYS = {c.lower().rstrip(".") for c in SUMMARY_CAPTIONS}
_SCORES = re.compile(r"\b(?:significance|saliency|relevance|highlight)\s+scores?\b", re.IGNORECASE)
_SUMMARY_WORD = re.compile(r"\bsummar", re.IGNORECASE)
_QUERY_WORD = re.compile(r"\b(?:query|description|described)\b", re.IGNORECASE)
_NUMBERS = re.compile(r"\d+")
# Two numbers joined like an interval, then a time unit: an answer meant as an interval even when it does not parse.
_INTERVAL_LIKE = re.compile(
    r"[-+]?\d[\d.]*(?:e[-+]?\d+)?\s*(?:-|–|—|to|and)\s*[-+]?\d[\d.]*(?:e[-+]?\d+)?\s*(?:s\b|sec|second)",
    re.IGNORECASE,
)
# A query quoted in the question: 'person opens a door' (an apostrophe inside, as in "dog's", does not end it).
_QUOTED = re.compile(r"""(?:^|(?<=[\s:(]))(['"])(?P<q>.+?)\1(?=[\s.,;:?!)]|$)""")
_AFTER_SCORE = re.compile(
    r"(?:significance|saliency|relevance|highlight)\s+score\s*(?:is|of|:|=)?\s*[\d.]+\s*,\s*(?P<q>.+?)\.(?:\s|$)",
    re.IGNORECASE,
)


def query_from_question(question: str) -> str | None:
    """The first quoted sentence of a question (``... the text query 'person opens a door' and ...``), if any.

    Quoted answer examples (``'The highlight timestamps are in the 82, 84 ... seconds'``: two numbers or more) are
    passed over.
    """
    for m in _QUOTED.finditer(question or ""):
        if len(_NUMBERS.findall(m.group("q"))) < 2:
            return m.group("q").strip()
    return None


def _is_summary(question: str, query: str | None) -> bool:
    if _SUMMARY_WORD.search(question or ""):
        return True
    if query is None:  # TimeIT's highlight prompts name their (unquoted) query; its summary prompts do not
        return not _QUERY_WORD.search(question or "")
    return query.lower().rstrip(".").strip() in _SUMMARY_KEYS


def infer_task(question: str, answer: str, *, fps: float | None = None, num_bins: int | None = None) -> str:
    """The task of a question/answer pair by the rule of the module docstring (``mr``/``dvc``/``vhd``/``vs``/``qa``).

    Args:
        question: The question text.
        answer: The answer text, in any time scheme :mod:`vidllm.time` reads.
        fps: Sampling rate, so frame-number answers count as times.
        num_bins: Token count of the ``bins`` scheme (with ``<tk>`` tokens the count of intervals does not need
            the duration, so none is asked).
    """
    if _SCORES.search(answer or ""):
        query = _highlight_query(question, answer)
        return "vs" if _is_summary(question, query) else "vhd"
    # A stand-in duration lets <tk> tokens count as values; only the number of intervals matters here.
    n = len(parse_intervals(answer or "", fps=fps, num_bins=num_bins, duration=1.0 if num_bins else None))
    if n >= 2:
        return "dvc"
    if n == 1:
        return "mr"
    if _INTERVAL_LIKE.search(answer or "") or is_grounding_question(question):
        return "mr"  # a grounding answer without a readable interval: the validator skips and counts it
    return "qa"


@functools.lru_cache(maxsize=1)
def _grounding_patterns() -> tuple[re.Pattern, ...]:
    """The shipped moment-retrieval question templates as patterns (the query and dataset as wildcards)."""
    from vidllm.data.prompts import DATASET, QUERY, prompt_sets, templates

    try:
        sets = prompt_sets()
    except (FileNotFoundError, ValueError):  # templates not installed: the rule falls back to the answer alone
        return ()
    patterns = []
    for name, tasks in sets.items():
        if "mr" not in tasks:
            continue
        for template in templates(name, "mr"):
            text = re.escape(" ".join(template.split()))
            text = text.replace(re.escape(QUERY), ".+?").replace(re.escape(DATASET), ".+?")
            patterns.append(re.compile(text.replace(r"\ ", r"\s+"), re.IGNORECASE | re.DOTALL))
    return tuple(patterns)


def is_grounding_question(question: str) -> bool:
    """Whether ``question`` is one of the shipped moment-retrieval templates (TimeChat, VTG-LLM, NumPro), filled."""
    text = " ".join((question or "").split())
    return bool(text) and any(p.fullmatch(text) for p in _grounding_patterns())


def _highlight_query(question: str, answer: str) -> str | None:
    m = _AFTER_SCORE.search(answer or "")
    return m.group("q").strip() if m else query_from_question(question)


def decode_answer(
    answer: str,
    task: str,
    *,
    question: str = "",
    duration: float | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
) -> tuple[Targets, str | None]:
    """The targets an answer states, and the query it refers to (from the answer, else the question).

    Args:
        answer: The answer text (any scheme :mod:`vidllm.time` reads).
        task: The record's task.
        question: The question, to find the query when the answer does not repeat it.
        duration: The video's length (needed to read ``<tk>`` bin tokens; times are not clipped here, the
            validator does that and counts it).
        fps: Sampling rate, to read frame numbers.
        num_bins: Token count of the ``bins`` scheme.
        clip_length: Length of a saliency clip, for ``vhd``/``vs``.

    Returns:
        ``(targets, query)``; empty targets when nothing parses (the validator then skips the record).
    """
    kwargs = {"fps": fps, "num_bins": num_bins, "duration": duration if num_bins else None}
    kwargs["keep_order"] = True  # a reversed interval stays reversed: the validator swaps it and counts the fix
    if task in ("mr", "tad"):  # a detection answer lists every instance, then the class, as mr does
        events = parse_captions(answer, **kwargs)
        captions = [c for *_, c in events if c.strip().rstrip(".").strip()]
        query = captions[-1].strip().rstrip(".").strip() if captions else query_from_question(question)
        return Targets(intervals=tuple((s, e) for s, e, _ in events)), query
    if task == "dvc":
        events = parse_captions(answer, **kwargs)
        return Targets(captions=tuple((s, e, c.strip().rstrip(".").strip()) for s, e, c in events)), None
    if task in ("vhd", "vs"):
        points = parse_highlights(answer, **{k: v for k, v in kwargs.items() if k != "keep_order"})
        # A VTG-LLM generic summary caption is kept as the query, so the answer renders as it was written.
        return Targets(saliency=tuple(points), clip_length=clip_length), _highlight_query(question, answer)
    return Targets(), None
