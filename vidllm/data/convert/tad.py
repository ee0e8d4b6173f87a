"""Shared by the temporal-action-detection converters (Charades, ActivityNet v1.3, Ego4D moment queries).

TAD becomes grounding with class-name queries (UniMD): each (video, class) with instances is one ``tad`` record,
"Find every moment where someone is <class>." answered with every instance of that class, in start order, in the
run's time scheme. The ground truth is ActivityNet's detection form, which ``vidllm score tad`` and the ``*_tad``
benchmarks read::

    {"version": "vidllm-tad-1", "classes": [...],
     "database": {"<vid>": {"subset": "validation", "duration": 30.1,
                            "annotations": [{"segment": [s, e], "label": "<class>"}]}}}

Every video of the split is in the database, also those without instances (a detection on them is a false
positive). It is built from the *checked* records, so ends clipped to the duration are clipped in both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vidllm.data.convert.common import PromptPicker
from vidllm.data.records import Record, Targets

SUBSETS = {"train": "training", "val": "validation", "test": "testing"}
"""vidllm split -> ActivityNet subset name."""

VERSION = "vidllm-tad-1"


def class_phrase(label: str) -> str:
    """A class name as it reads in a question.

    ``"Holding some clothes"`` -> ``"holding some clothes"``; Ego4D's ``"cut_/_chop_/_slice_a_vegetable,_fruit"``
    -> ``"cut / chop / slice a vegetable, fruit"``; acronyms keep their case.
    """
    text = re.sub(r"\s+", " ", label.replace("_", " ")).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text  # keep acronyms ("TV")


def video_records(
    vid: str,
    video: str,
    duration: float | None,
    instances: Iterable[tuple[float, float, str]],
    *,
    picker: PromptPicker,
    template_task: str,
    source: str,
) -> list[tuple[str, Record]]:
    """One ``tad`` record per class present in a video: its instances (exact duplicates once) in start order.

    Args:
        vid: The benchmark's video id (kept in ``meta["vid"]``).
        video: The record's video path.
        duration: The video's length in seconds.
        instances: ``(start, end, class)`` of every instance.
        picker: Chooses the question.
        template_task: The template key: ``tad`` ("someone is <class>", gerund class names) or ``tad_action``
            ("the action '<class>'").
        source: ``file:where`` for messages.
    """
    by_class: dict[str, set[tuple[float, float]]] = {}
    for s, e, label in instances:
        by_class.setdefault(label, set()).add((s, e))
    out = []
    for label, spans in by_class.items():
        phrase = class_phrase(label)
        record = Record(video=video, task="tad", prompt=picker(template_task, phrase), query=phrase,
                        targets=Targets(intervals=tuple(sorted(spans))), duration=duration,
                        source=f"{source}[{label}]", meta={"vid": vid, "label": label})  # fmt: skip
        out.append((f"{vid}[{label}]", record))
    return out


def ground_truth(
    records: Sequence[Record], videos: dict[str, float | None], split: str, classes: Sequence[str]
) -> dict:
    """The ActivityNet-form ground truth of checked ``tad`` records (see the module docstring).

    Args:
        records: The checked records.
        videos: Every video of the split -> its duration (videos without instances too).
        split: ``train``, ``val`` or ``test``.
        classes: Every class name of the benchmark.
    """
    subset = SUBSETS.get(split, split)
    database = {vid: {"subset": subset, "duration": d, "annotations": []} for vid, d in videos.items()}
    for r in records:
        entry = database.setdefault(r.meta["vid"], {"subset": subset, "duration": r.duration, "annotations": []})
        entry["annotations"].extend({"segment": [s, e], "label": r.meta["label"]} for s, e in r.targets.intervals)
    for entry in database.values():
        entry["annotations"].sort(key=lambda a: (a["segment"][0], a["segment"][1], a["label"]))
    return {"version": VERSION, "classes": list(classes), "database": database}
