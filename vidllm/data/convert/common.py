"""What every benchmark converter shares: its result, the ground-truth file shapes, writing both out.

A converter reads one official annotation file and returns a :class:`Converted`: the instruction records (questions
from a named template set, targets in seconds) and the evaluation ground truth in the forms ``vidllm score`` reads
(``docs/scoring-conventions.md``):

* ``tvg``: TimeChat's COCO-caption style ``{"annotations": [{"image_id", "caption", "timestamp": [s, e], "id"}]}``;
* ``dvc``: ``{"annotations": [{"image_id", "id", "duration", "segments", "pure_cap"}]}``, in a file whose name
  starts with the split (``val.``): the official evaluator takes the split from it;
* ``hd``: QVHighlights JSON lines ``{"qid", "query", "duration", "vid", "relevant_clip_ids", "saliency_scores",
  "relevant_windows"}``;
* ``tad``: ActivityNet's detection form ``{"database": {vid: {"subset", "duration", "annotations": [{"segment",
  "label"}]}}}`` (:mod:`vidllm.data.convert.tad`).

:func:`write_converted` writes ``<name>_<split>.vtg_it.json`` (VTG-IT schema, answers in the chosen scheme) and
``<split>.tvg.caption_coco_format.json`` / ``<split>.dvc.caption_coco_format.json`` / ``<split>.highlight.jsonl``.
"""

from __future__ import annotations

import csv
import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidllm.data.prompts import sample_prompt
from vidllm.data.records import Record, Targets
from vidllm.data.validate import LoadReport, Problem, check_records, log_report
from vidllm.data.vtg_it import write_vtg_it
from vidllm.io import DataError, PathLike, read_json, write_json, write_jsonl
from vidllm.time import TimeScheme

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")

GT_FILES = {
    "tvg": "{split}.tvg.caption_coco_format.json",
    "dvc": "{split}.dvc.caption_coco_format.json",
    "hd": "{split}.highlight.jsonl",
    "tad": "{split}.tad.json",
}
"""Ground-truth file names per kind (``vidllm score tvg|dvc|hd|qvhl`` reads them)."""


@dataclass
class Converted:
    """A converter's result.

    Attributes:
        name: The benchmark (``charades_sta``, ``qvhighlights``, ...).
        split: ``train``, ``val`` or ``test``.
        records: Checked instruction records.
        ground_truth: ``{"tvg" | "dvc" | "hd": object}``, each ready to write as :data:`GT_FILES` names it.
        report: What was read, fixed and skipped.
    """

    name: str
    split: str
    records: list[Record]
    ground_truth: dict[str, Any] = field(default_factory=dict)
    report: LoadReport = field(default_factory=LoadReport)


@dataclass(frozen=True)
class ConvertOptions:
    """Options every converter takes.

    Attributes:
        split: The split written in the file names; ``None``: taken from the annotation file's name.
        prompt_set: The template set of the questions (``timechat``, ``vtgllm``, ``numpro``).
        seed: Seed of the template choice (the same seed gives the same questions).
        video_template: The video path of a record, relative to the video root; ``{vid}`` is the benchmark's video
            id (e.g. ``charades/{vid}.mp4``); ``None``: the converter's default (``{vid}.mp4``, DiDeMo ``{vid}``).
        durations: Video durations in seconds by video id, where the annotation file has none.
        tasks: The tasks to build records for (``None``: the converter's default; see each converter).
        strict: Raise on the first bad annotation instead of skipping it.
    """

    split: str | None = None
    prompt_set: str = "timechat"
    seed: int = 0
    video_template: str | None = None
    durations: dict[str, float] | None = None
    tasks: tuple[str, ...] | None = None
    strict: bool = False

    def video(self, vid: str, default: str = "{vid}.mp4") -> str:
        """The record's video path for the benchmark's video id ``vid``."""
        return (self.video_template or default).format(vid=vid)

    def wants(self, task: str, defaults: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
        """Whether to build ``task`` records; raises ``ValueError`` for a task the converter cannot build."""
        tasks = self.tasks if self.tasks is not None else defaults
        bad = [t for t in tasks if t not in allowed]
        if bad:
            raise ValueError(f"this converter builds {', '.join(allowed)} records, not {', '.join(bad)}")
        return task in tasks


def infer_split(path: PathLike, default: str) -> str:
    """``train``/``val``/``test`` from a file name (``charades_sta_test.txt``, ``val_1.json``), else ``default``."""
    name = Path(path).name.lower()
    for split, words in (("train", ("train",)), ("val", ("val", "valid")), ("test", ("test",))):
        if any(w in name.replace("-", "_").replace(".", "_").split("_") or name.startswith(w) for w in words):
            return split
    return default


class PromptPicker:
    """Questions from a template set, chosen by one seeded generator in record order (deterministic)."""

    def __init__(self, prompt_set: str, seed: int, dataset: str | None = None):
        self.prompt_set, self.dataset, self.rng = prompt_set, dataset, random.Random(seed)

    def __call__(self, task: str, query: str | None = None) -> str:
        return sample_prompt(self.prompt_set, task, self.rng, query=query, dataset=self.dataset)


def check(pairs, report: LoadReport, strict: bool) -> list[Record]:
    """Check the built ``(index, record)`` pairs into ``report`` (the ground truth is then built from what passed,
    so instructions and ground truth agree)."""
    records = check_records(pairs, report, strict=strict)
    log_report(report)
    return records


def write_converted(
    converted: Converted,
    out_dir: PathLike,
    scheme: TimeScheme | str = "vtgllm",
    *,
    group_by_video: bool = False,
) -> dict[str, Path]:
    """Write the instruction file and the ground-truth files; returns ``{"instructions" | kind: path}``."""
    out = Path(out_dir)
    paths = {
        "instructions": write_vtg_it(
            converted.records,
            out / f"{converted.name}_{converted.split}.vtg_it.json",
            scheme,
            group_by_video=group_by_video,
        )
    }
    for kind, obj in converted.ground_truth.items():
        path = out / GT_FILES[kind].format(split=converted.split)
        paths[kind] = write_jsonl(obj, path) if kind == "hd" else write_json(obj, path)
    return paths


class Durations(dict):
    """Video durations by id (a ``dict``), with the rows of the file that were skipped.

    Attributes:
        skipped: One :class:`~vidllm.data.validate.Problem` per row whose duration is not a number > 0.
    """

    def __init__(self, values=(), skipped: list[Problem] | None = None):
        super().__init__(values)
        self.skipped: list[Problem] = list(skipped or [])


def read_durations(path: PathLike, *, strict: bool = False) -> Durations:
    """Video durations by id: a JSON object ``{"vid": seconds}``, or a CSV with ``id`` and ``length`` columns
    (``Charades_v1_*.csv``) or ``video_id`` and ``duration`` columns.

    A row whose duration is not a number > 0 is skipped and listed in ``skipped`` (its videos then have no known
    duration, as if the row were absent); with ``strict`` it raises instead.

    Raises:
        DataError: Neither form; with ``strict``, a bad row.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        obj = read_json(path)
        if not isinstance(obj, dict):
            raise DataError('expected {"video id": seconds, ...}', path=path)
        rows = [(vid, value, vid) for vid, value in obj.items()]
    else:
        try:
            with path.open(encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                fields = reader.fieldnames or []
                id_col = next((c for c in ("id", "video_id", "vid") if c in fields), None)
                len_col = next((c for c in ("length", "duration") if c in fields), None)
                if id_col is None or len_col is None:
                    raise DataError(f"expected 'id' and 'length' (or 'video_id' and 'duration') columns, got "
                                    f"{fields}", path=path)  # fmt: skip
                rows = [(row[id_col], row[len_col], f"line {reader.line_num}") for row in reader]
        except UnicodeDecodeError as e:
            raise DataError(f"not UTF-8 text (byte {e.start}); re-save the CSV as UTF-8", path=path) from None
    out = Durations()
    for vid, value, where in rows:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            problem = Problem(f"video {vid!r}: expected a duration > 0 seconds, got {value!r}", str(path), where,
                              "duration")  # fmt: skip
            if strict:
                raise problem.error()
            out.skipped.append(problem)
            continue
        out[str(vid)] = seconds
    if out.skipped:
        logger.warning("%s: skipped %d of %d rows without a usable duration (first: %s)", path, len(out.skipped),
                       len(rows), out.skipped[0])  # fmt: skip
    return out


def sentence(text: str) -> str:
    """A caption or query: whitespace collapsed, no final period."""
    return " ".join(str(text).split()).rstrip(".").strip()


def pure_cap(captions: list[str]) -> str:
    """YouCook2's ``pure_cap``: the captions joined by ``". "``.

    The scorer splits it on ``". "`` again, so a caption holding two sentences would become two captions; inside a
    caption ``". "`` is therefore written ``", "``.
    """
    return ". ".join(sentence(c).replace(". ", ", ") for c in captions)


def grounding_annotations(records: list[Record], image_id, caption, *, durations: bool = False) -> dict[str, Any]:
    """The COCO-caption grounding GT of one-moment records (``vidllm score tvg``): ``id`` in record order.

    Args:
        records: Checked ``mr`` records with one target interval each (their ``meta["qid"]`` is set here).
        image_id: Record -> the annotation's ``image_id``.
        caption: Record -> the annotation's ``caption``.
        durations: Also write each record's ``duration`` where it has one.
    """
    annotations = []
    for qid, r in enumerate(records):
        r.meta["qid"] = qid
        ((s, e),) = r.targets.intervals
        ann = {"image_id": image_id(r), "caption": caption(r), "timestamp": [s, e], "id": qid}
        if durations and r.duration:
            ann["duration"] = r.duration
        annotations.append(ann)
    return {"annotations": annotations}


def moment_record(
    picker: PromptPicker, video: str, query: str, interval: tuple[float, float], *, duration, source: str, meta: dict
) -> Record:
    """A one-moment grounding (``mr``) record: the question picked for ``query``, the moment as its target."""
    return Record(video=video, task="mr", prompt=picker("mr", query), targets=Targets(intervals=(interval,)),
                  duration=duration, query=query, source=source, meta=meta)  # fmt: skip


def convert_moments(
    name: str, path: PathLike, options: ConvertOptions | None, records, image_id, caption, *, durations: bool = False
) -> Converted:
    """A one-moment grounding converter's result: ``records(path, options, report)`` yields ``(index, record)``
    pairs; the kept records and their COCO-caption ground truth (:func:`grounding_annotations`) are returned."""
    options = options or ConvertOptions()
    split = options.split or infer_split(path, "test")
    report = LoadReport(str(path))
    kept = check(records(path, options, report), report, options.strict)
    gt = grounding_annotations(kept, image_id, caption, durations=durations)
    return Converted(name, split, kept, {"tvg": gt}, report)
