"""Confidences from the model itself: each interval of an answer scored by the probabilities of its own tokens.

Detection metrics (ActivityNet TAD mAP, QVHighlights MR mAP) rank a class's or a query's predictions by a score.
Ranking a query's answers ``1, 1/2, 1/3, ...`` gives every query's first answer the score 1, so a class's detections
are full of ties shared by true and false positives, and the mAP depends on how the evaluator happens to order ties
(numpy version, CPU). With ``scores: model`` (the default) each interval gets instead

    confidence = exp(mean log p(token))   over the generated tokens that write the interval

-- the geometric-mean probability of the tokens from its first value to its second and its unit (``12.5 - 20.0
seconds``, or the time tokens ``<t3> - <t9>``), under the model's distribution at each step (after the repetition
penalty, before the sampling warpers temperature / top-p; with greedy decoding, the distribution the token was
chosen from).

Why this one: it is about *that* interval (a sequence likelihood would give every interval of an answer the same
score, and a later interval would inherit the doubts about an earlier one); the mean, not the sum, keeps intervals
written with more tokens (``112.5`` vs ``9``) comparable; it is read during generation (a logits processor keeps the
step's log-softmax, one ``(batch, vocab)`` step at a time, and a stopping criterion reads the chosen token's entry),
so there is no second forward pass.
Beam search (``num_beams > 1``) reorders rows, so there the runner keeps rank scores. An interval whose characters
cannot be found among the answer's tokens gets the mean over the whole answer.

``scores: rank`` keeps the earlier scores, to compare with published numbers that used them: the confidences the
answer writes (``(0.87)``, only when every interval has one) or else text order ``1 / (k + 1)``
(:mod:`vidllm.time.ranked`). Sample lines keep both (``parsed.intervals`` and ``parsed.confidences``), so a run
scored one way can be rescored the other without generating again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidllm.eval.report import ScoreReport
from vidllm.time import interval_spans
from vidllm.time.ranked import rank_score

_MATCH_TOLERANCE = 1e-6


class ScoredText(str):
    """A generated answer (the text) with where each generated token ends in it and its log-probability.

    Attributes:
        token_ends: ``token_ends[k]``: the length of the text decoded from the first ``k + 1`` new tokens.
        token_logprobs: The log-probability of each new token.
    """

    token_ends: tuple[int, ...]
    token_logprobs: tuple[float, ...]

    def __new__(cls, text: str, token_ends: Sequence[int], token_logprobs: Sequence[float]) -> ScoredText:
        obj = super().__new__(cls, text)
        obj.token_ends = tuple(token_ends)
        obj.token_logprobs = tuple(float(v) for v in token_logprobs)
        return obj

    def mean_logprob(self, begin: int = 0, stop: int | None = None) -> float | None:
        """Mean log-probability of the tokens overlapping ``self[begin:stop]`` (all tokens that write text by
        default); ``None`` when no token does."""
        stop = len(self) if stop is None else stop
        values, start = [], 0
        for end, lp in zip(self.token_ends, self.token_logprobs):
            if end > start and start < stop and end > begin:
                values.append(lp)
            start = max(start, end)
        return sum(values) / len(values) if values else None


def span_confidence(answer: ScoredText, begin: int, stop: int) -> float | None:
    """``exp`` of the mean log-probability of the tokens writing ``answer[begin:stop]``."""
    value = answer.mean_logprob(begin, stop)
    return math.exp(value) if value is not None else None


def interval_confidences(
    answer: ScoredText,
    intervals: Sequence[Sequence[float]],
    *,
    fps: float | None,
    duration: float | None = None,
    num_bins: int | None = None,
) -> list[float]:
    """The model's confidence in each parsed interval (see the module docstring), in the order of ``intervals``.

    Each interval is matched to the first unused place in the answer that writes the same ``(start, end)``; one that
    matches none gets the whole answer's confidence.
    """
    spans = interval_spans(answer, duration=duration, fps=fps, num_bins=num_bins)
    whole = span_confidence(answer, 0, len(answer))
    used: set[int] = set()
    out = []
    for interval in intervals:
        s, e = float(interval[0]), float(interval[1])
        k = next((i for i, (a, b, _, _) in enumerate(spans) if i not in used and abs(a - s) <= _MATCH_TOLERANCE
                  and abs(b - e) <= _MATCH_TOLERANCE), None)  # fmt: skip
        value = None
        if k is not None:
            used.add(k)
            value = span_confidence(answer, spans[k][2], spans[k][3])
        value = value if value is not None else whole
        out.append(float(value) if value is not None else 0.0)
    return out


class _Recorder:
    """Keeps the id and log-probability of each generated token: a logits processor stores the step's
    log-softmax, a stopping criterion (called once the token is appended) reads the chosen token's entry."""

    def __init__(self):
        self.step = None
        self.ids: list = []
        self.logprobs: list = []

    def processor(self, input_ids, scores):
        import torch

        self.step = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def criterion(self, input_ids, scores, **kwargs):
        import torch

        chosen = input_ids[:, -1:]
        if self.step is not None and self.step.shape[0] == chosen.shape[0]:
            self.ids.append(chosen.squeeze(1).cpu())
            self.logprobs.append(self.step.gather(1, chosen.to(self.step.device)).squeeze(1).cpu())
        self.step = None
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def hooks(self) -> dict[str, Any]:
        """``generate`` keyword arguments that install the recorder."""
        from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        rec = self

        class _Processor(LogitsProcessor):
            def __call__(self, input_ids, scores):
                return rec.processor(input_ids, scores)

        class _Criterion(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return rec.criterion(input_ids, scores, **kwargs)

        return {"logits_processor": LogitsProcessorList([_Processor()]),
                "stopping_criteria": StoppingCriteriaList([_Criterion()])}  # fmt: skip


def generate_scored(adapter: Any, batch: Mapping[str, Any], **gen_kwargs: Any) -> list[str]:
    """``adapter.generate`` that also keeps each new token's log-probability (one generation, no second pass).

    Args:
        adapter: A model adapter (``generate`` passes its keyword arguments on to ``model.generate``).
        batch: A left-padded batch.
        **gen_kwargs: ``generate`` keyword arguments (``num_beams`` must be 1).

    Returns:
        One answer per row: a :class:`ScoredText` when the recorded tokens decode to the returned text (always, for
        a real adapter), else the plain text (an adapter whose answers do not come from the tokens).
    """
    import torch

    rec = _Recorder()
    texts = list(adapter.generate(batch, **gen_kwargs, **rec.hooks()))
    if not rec.ids:
        return texts
    ids = torch.stack(rec.ids, dim=1).tolist()
    logprobs = torch.stack(rec.logprobs, dim=1).tolist()
    tokenizer = adapter.processor.tokenizer
    answers: list[str] = []
    for text, row, lps in zip(texts, ids, logprobs):
        ends = [len(tokenizer.decode(row[: k + 1], skip_special_tokens=True)) for k in range(len(row))]
        ok = isinstance(text, str) and tokenizer.decode(row, skip_special_tokens=True) == text
        answers.append(ScoredText(text, ends, lps) if ok else text)
    return answers


def can_score(adapter: Any, gen_kwargs: Mapping[str, Any]) -> bool:
    """Whether :func:`generate_scored` can run: a tokenizer to decode with, and no beam search (which reorders
    rows between steps)."""
    return getattr(getattr(adapter, "processor", None), "tokenizer", None) is not None and (
        gen_kwargs.get("num_beams", 1) == 1
    )


def confidences_of(answer: str, question: Any, parsed: dict, **time_kwargs: Any) -> list[float] | None:
    """The model confidences of a parsed answer's intervals, for ranked questions of a scored answer."""
    if not isinstance(answer, ScoredText) or not getattr(question, "ranked", False):
        return None
    return interval_confidences(answer, parsed.get("intervals") or [], **time_kwargs)


# ------------------------------------------------------------------------------------------------------ scoring


@dataclass
class ScoreSources:
    """Where the scores of a scored file's ranked predictions came from (counted into the report)."""

    model: int = 0
    text: int = 0
    modes: set[str] = field(default_factory=set)

    def report(self, report: ScoreReport) -> None:
        """Add the counts (``scores_model``, ``scores_text``) and a note to ``report``."""
        report.counts.update(scores_model=self.model, scores_text=self.text)
        total = self.model + self.text
        if not total:
            return
        if self.model and not self.text:
            report.notes.append(f"all {total} predicted intervals are ranked by the model's token probabilities "
                                "(vidllm.eval.confidence).")  # fmt: skip
        elif self.model:
            report.notes.append(f"{self.model} of {total} predicted intervals are ranked by the model's token "
                                f"probabilities; {self.text} (samples without them) by the answer's order or "
                                "written confidences: the two scales are mixed.")  # fmt: skip
        else:
            why = "eval scores=rank" if "rank" in self.modes else "the samples carry no model confidences"
            report.notes.append(f"{total} predicted intervals are ranked by the answer's order (1, 1/2, ...) or its "
                                f"written confidences ({why}).")  # fmt: skip


def ranked_intervals(sample: Mapping | None, mode: str, sources: ScoreSources) -> list[list[float]]:
    """A sample's intervals as ``[start, end, score]``, scored as ``mode`` says (``model`` or ``rank``).

    ``model``: the sample's ``parsed.confidences`` when it has one per interval, else as ``rank``. ``rank``: the
    score the parser gave (written confidences, or ``1 / (k + 1)``) or, for two-number intervals, ``1 / (k + 1)``.
    """
    if mode not in ("model", "rank"):
        raise ValueError(f"eval scores must be 'model' or 'rank', got {mode!r}")
    sources.modes.add(mode)
    parsed = (sample or {}).get("parsed") or {}
    intervals = list(parsed.get("intervals") or [])
    confidences = parsed.get("confidences")
    if mode == "model" and confidences is not None and len(confidences) == len(intervals):
        sources.model += len(intervals)
        return [[float(i[0]), float(i[1]), float(c)] for i, c in zip(intervals, confidences)]
    sources.text += len(intervals)
    return [[float(i[0]), float(i[1]), float(i[2]) if len(i) > 2 else rank_score(k)] for k, i in enumerate(intervals)]
