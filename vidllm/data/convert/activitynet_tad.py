"""ActivityNet v1.3 action detection: ``activity_net.v1-3.min.json`` -> ``tad`` records + GT.

The file holds every subset: ``database[vid] = {"subset": "training" | "validation" | "testing", "duration",
"annotations": [{"segment": [s, e], "label"}]}``. The split (``--split``, default ``val``) picks the subset
(``train`` -> ``training``, ``val`` -> ``validation``, ``test`` -> ``testing``, which has no annotations). The 200
classes are the labels of the whole file. Video ids have no ``v_`` prefix in the file; the records' videos default
to ``v_{vid}.mp4``, the name ActivityNet's downloads use. Questions use the ``tad_action`` templates ("Find every
moment of the action 'Playing guitarra' in the video."), since many class names are nouns ("Archery").
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Real

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check, infer_split
from vidllm.data.convert.tad import SUBSETS, ground_truth, video_records
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike, read_json

NAME = "activitynet_tad"


def _instances(entry: dict) -> list[tuple[float, float, str]]:
    """The ``(start, end, label)`` of a video's annotations; ``ValueError`` names what is wrong."""
    out = []
    for i, ann in enumerate(entry.get("annotations") or []):
        segment = ann.get("segment") if isinstance(ann, dict) else None
        label = ann.get("label") if isinstance(ann, dict) else None
        if not (isinstance(segment, list) and len(segment) == 2 and all(isinstance(v, Real) for v in segment)):
            raise ValueError(f"annotations[{i}].segment: expected [start, end] seconds, got {segment!r}")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"annotations[{i}].label: expected a class name, got {label!r}")
        out.append((float(segment[0]), float(segment[1]), label))
    return out


def _records(
    database: dict, subset: str, options: ConvertOptions, report: LoadReport, path: PathLike, videos: dict
) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="ActivityNet")
    for vid, entry in database.items():
        if not isinstance(entry, dict) or entry.get("subset") != subset:
            continue
        duration = entry.get("duration")
        duration = float(duration) if isinstance(duration, Real) and duration > 0 else None
        videos[vid] = duration
        try:
            instances = _instances(entry)
        except ValueError as e:
            skip_or_raise(Problem(str(e), str(path), vid, "annotations"), report, strict=options.strict)
            continue
        yield from video_records(vid, options.video(vid, "v_{vid}.mp4"), duration, instances, picker=picker,
                                 template_task="tad_action", source=f"{path}:{vid}")  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert ActivityNet v1.3 (see the module docstring)."""
    options = options or ConvertOptions()
    options.wants("tad", ("tad",), ("tad",))
    split = options.split or infer_split(path, "val")
    data = read_json(path)
    database = data.get("database") if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise DataError('expected {"database": {"<vid>": {"subset", "duration", "annotations"}}}', path=path)
    labels = {a.get("label") for e in database.values() if isinstance(e, dict) for a in e.get("annotations") or []
              if isinstance(a, dict) and isinstance(a.get("label"), str)}  # fmt: skip
    report = LoadReport(str(path))
    videos: dict[str, float | None] = {}
    records = check(_records(database, SUBSETS[split], options, report, path, videos), report, options.strict)
    return Converted(NAME, split, records, {"tad": ground_truth(records, videos, split, sorted(labels))}, report)
