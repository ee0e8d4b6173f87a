"""Ego4D moment queries (episodic memory MQ): ``moments_{train,val}.json`` -> ``tad`` records + GT, per clip.

The file nests ``videos[] -> clips[] -> annotations[] -> labels[]``; a label is ``{"start_time", "end_time",
"label", ...}`` with times relative to the clip (``clip_uid``), which is the unit of the benchmark: the record's video
is ``{clip_uid}.mp4`` and its duration ``clip_end_sec - clip_start_sec`` (or ``video_end_sec - video_start_sec``).
The labels of every annotator of a clip are pooled (exact duplicates once). Class names such as ``use_phone`` read
as "use phone"; questions use the ``tad_action`` templates. The classes are the labels of the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Real

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check, infer_split
from vidllm.data.convert.tad import ground_truth, video_records
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike, read_json

NAME = "ego4d_mq"


def _number(value) -> float | None:
    return float(value) if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) else None


def clip_duration(clip: dict) -> float | None:
    """The clip's length in seconds, from ``clip_{start,end}_sec`` or ``video_{start,end}_sec``."""
    for a, b in (("clip_start_sec", "clip_end_sec"), ("video_start_sec", "video_end_sec")):
        start, end = _number(clip.get(a)), _number(clip.get(b))
        if start is not None and end is not None and end > start:
            return end - start
    return None


def clip_instances(clip: dict) -> list[tuple[float, float, str]]:
    """Every ``(start_time, end_time, label)`` of every annotator of a clip; ``ValueError`` names a bad one."""
    out = []
    for a, ann in enumerate(clip.get("annotations") or []):
        labels = ann.get("labels") if isinstance(ann, dict) else None
        if not isinstance(labels, list):
            raise ValueError(f"annotations[{a}].labels: expected a list, got {labels!r}")
        for k, item in enumerate(labels):
            where = f"annotations[{a}].labels[{k}]"
            start = _number(item.get("start_time")) if isinstance(item, dict) else None
            end = _number(item.get("end_time")) if isinstance(item, dict) else None
            label = item.get("label") if isinstance(item, dict) else None
            if start is None or end is None:
                raise ValueError(f"{where}: expected start_time and end_time in seconds, got {item!r}")
            if not isinstance(label, str) or not label.strip():
                raise ValueError(f"{where}.label: expected a class name, got {label!r}")
            out.append((start, end, label))
    return out


def _records(data: dict, options: ConvertOptions, report: LoadReport, path: PathLike, clips: dict, labels: set):
    picker = PromptPicker(options.prompt_set, options.seed, dataset="Ego4D")
    for v, video in enumerate(data.get("videos") or []):
        for c, clip in enumerate((video or {}).get("clips") or []):
            uid = clip.get("clip_uid") if isinstance(clip, dict) else None
            if not isinstance(uid, str) or not uid:
                skip_or_raise(Problem(f"expected a clip_uid string, got {uid!r}", str(path), f"videos[{v}].clips[{c}]",
                                      "clip_uid"), report, strict=options.strict)  # fmt: skip
                continue
            duration = clip_duration(clip)
            clips[uid] = duration
            try:
                instances = clip_instances(clip)
            except ValueError as e:
                skip_or_raise(Problem(str(e), str(path), uid, "annotations"), report, strict=options.strict)
                continue
            labels.update(label for *_, label in instances)
            yield from video_records(uid, options.video(uid), duration, instances, picker=picker,
                                     template_task="tad_action", source=f"{path}:{uid}")  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert an Ego4D MQ annotation file (see the module docstring)."""
    options = options or ConvertOptions()
    options.wants("tad", ("tad",), ("tad",))
    split = options.split or infer_split(path, "val")
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("videos"), list):
        raise DataError('expected {"videos": [{"clips": [{"clip_uid", "annotations": [{"labels": [...]}]}]}]}',
                        path=path)  # fmt: skip
    report = LoadReport(str(path))
    clips: dict[str, float | None] = {}
    labels: set[str] = set()
    pairs: Iterator[tuple[str, Record]] = _records(data, options, report, path, clips, labels)
    records = check(pairs, report, options.strict)
    return Converted(NAME, split, records, {"tad": ground_truth(records, clips, split, sorted(labels))}, report)
