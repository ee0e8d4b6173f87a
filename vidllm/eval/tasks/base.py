"""What an evaluation task is made of: ground-truth entries, questions (prompt + answer parser), families (reader,
prediction writer, scorer) and the :class:`Task` that names one benchmark.

A **question** is what the model is asked about one ground-truth entry (``mr`` a moment, ``vhd`` highlights, ``vs``
a summary, ``dvc`` dense captions, ``tad`` every instance of a class): the prompt-set key of its question and the
parser that reads its answer with :mod:`vidllm.time`. A **family** reads one ground-truth form and turns the read
answers into the official prediction files and scores. A **task** is a benchmark: a family, the questions it asks,
its ``<dataset_placeholder>`` name, its default config and scoring protocol (:mod:`vidllm.eval.tasks.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vidllm.eval.report import ScoreReport
from vidllm.io import PathLike

CLIP_SECONDS = 2.0
"""Saliency clip length of QVHighlights and of vidllm's TVSum ground truth: clip ``i`` covers ``[2i, 2i + 2)``."""

SCORE_MODES = ("model", "rank")
"""``eval.scores``: how detections and multi-moment windows are ranked (see :mod:`vidllm.eval.confidence`)."""


@dataclass(frozen=True)
class GtEntry:
    """One ground-truth query (or video, for dense captioning).

    Attributes:
        key: The id the scorer uses: the ``id`` (tvg), the ``qid`` (highlights) or the video key (dvc).
        vid: The video id (GT ``image_id`` without its extension, or ``vid``); fills ``{vid}`` of the template.
        query: The sentence to ground, or ``None`` (dense captioning).
        duration: The video's length in seconds from the GT, when it has one.
        record: The GT record itself (for plots and the prediction files).
    """

    key: int | str
    vid: str
    query: str | None
    duration: float | None
    record: dict


@dataclass(frozen=True)
class GroundTruth:
    """A loaded ground-truth file.

    Attributes:
        benchmark: Its task (:class:`Task`).
        path: The file.
        entries: The queries (videos for dense captioning) in file order.
        split: The dense-captioning split from the file name (``val`` ...), else ``None``.
        notes: What loading decided that changes the numbers (e.g. the subset scored), for the report.
    """

    benchmark: Task
    path: Path
    entries: list[GtEntry]
    split: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def task(self) -> Task:
        """The task of this ground truth (``benchmark`` is its older name)."""
        return self.benchmark

    def select(self, limit: int | None) -> GroundTruth:
        """The first ``limit`` entries (all with ``None``)."""
        if limit is None:
            return self
        return GroundTruth(self.benchmark, self.path, self.entries[:limit], self.split, self.notes)


@dataclass
class Scored:
    """What scoring a run produced.

    Attributes:
        reports: One :class:`ScoreReport` per scorer run (``tvg``, ``qvhl``, ``hd``, ``dvc``, ``vs``, ``tad``).
        files: Prediction files written, by name (``predictions``, ``submission``).
    """

    reports: dict[str, ScoreReport]
    files: dict[str, Path]


@dataclass(frozen=True)
class ScoreOptions:
    """How a family scores.

    Attributes:
        java: Dense captioning: compute the Java-based metrics.
        meteor: Dense captioning: a running :class:`vidllm.eval.java.Meteor` to reuse.
        scores: ``model`` (detections ranked by the model's token probabilities, where the samples carry them) or
            ``rank`` (text order ``1, 1/2, ...``, or the confidences written in the answer).
    """

    java: bool = True
    meteor: Any = None
    scores: str = "model"


# ------------------------------------------------------------------------------------------------------ questions

Parser = Callable[..., dict[str, Any]]
"""``parse(answer, *, fps, duration, num_bins, gt_duration) -> parsed`` (see :func:`Question.parse`)."""


@dataclass(frozen=True)
class Question:
    """One kind of question a task asks about a ground-truth entry.

    Attributes:
        name: ``mr``, ``vhd``, ``vs``, ``dvc`` or ``tad``.
        prompt_task: The ``eval_prompts.json`` key of its question.
        output: The key of the parsed answer that must be non-empty for the answer to count as read.
        parser: Reads an answer (keyword arguments ``fps``, ``duration``, ``num_bins``, ``gt_duration``).
        ranked: Its answers list several intervals whose order or confidence ranks them (detections, windows):
            they get model confidences (:mod:`vidllm.eval.confidence`).
    """

    name: str
    prompt_task: str
    output: str
    parser: Parser
    ranked: bool = False

    def parse(
        self,
        answer: str,
        *,
        fps: float | None,
        duration: float | None = None,
        num_bins: int | None = None,
        gt_duration: float | None = None,
    ) -> dict[str, Any]:
        """The answer read with :mod:`vidllm.time` (empty lists when nothing parses)."""
        return self.parser(answer, fps=fps, duration=duration, num_bins=num_bins, gt_duration=gt_duration)

    def is_parsed(self, parsed: Mapping[str, Any]) -> bool:
        """Whether an answer yielded anything usable."""
        return bool(parsed.get(self.output))


# ------------------------------------------------------------------------------------------------------- families


class Family(Protocol):
    """A ground-truth form: how it is read and how read answers are written and scored."""

    name: str

    def load(self, task: Task, path: Path, *, tad_queries: str = "all") -> GroundTruth:
        """Read and check a ground-truth file (raises ``DataError`` naming file, record and field)."""
        ...

    def score(
        self, gt: GroundTruth, by_question: dict[str, dict[Any, Mapping | None]], out: Path, options: ScoreOptions
    ) -> Scored:
        """Write the official prediction files of the samples (by question, by GT key) and score them."""
        ...


@dataclass(frozen=True)
class Task:
    """One benchmark: what the registry holds and the runner dispatches through.

    Attributes:
        name: Registry key (``charades_sta``); also the default config ``eval_configs/<name>.yaml``.
        family: Reader, prediction writer and scorer of its ground-truth form.
        questions: The questions its ground truth can score (``mr``; QVHighlights ``mr`` and ``vhd``).
        dataset_name: Default value of ``<dataset_placeholder>`` in prompts.
        description: One line for ``--help`` and the docs.
        protocol: The scorer's protocol where it has several (TAD thresholds: :data:`vidllm.eval.tad.PROTOCOLS`).
        default_questions: What ``vidllm eval --tasks`` asks (default: all of ``questions``).
    """

    name: str
    family: Family
    questions: tuple[str, ...]
    dataset_name: str
    description: str
    protocol: str | None = None
    default_questions: tuple[str, ...] | None = field(default=None)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The questions (the older name, kept for ``Benchmark.tasks``)."""
        return self.questions

    @property
    def asks(self) -> tuple[str, ...]:
        """The questions a multi-task run asks."""
        return self.default_questions or self.questions

    def load(self, path: PathLike, *, tad_queries: str = "all") -> GroundTruth:
        """Read its ground-truth file (see :meth:`Family.load`)."""
        return self.family.load(self, Path(path), tad_queries=tad_queries)


def sample_part(sample: Mapping | None, name: str) -> list:
    """One list of a sample's parsed answer (``[]`` for a missing sample or key)."""
    return list((sample or {}).get("parsed", {}).get(name) or [])
