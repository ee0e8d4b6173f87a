"""ActivityNet Captions: ``train.json`` / ``val_1.json`` / ``val_2.json`` -> dense-captioning records + GT.

The official form is ``{"v_xxx": {"duration": 82.73, "timestamps": [[s, e], ...], "sentences": [...]}}`` (one
sentence per timestamp). Records: one ``dvc`` record per video (default); with ``tasks=("dvc", "mr")`` also one
``mr`` record per sentence, the grounding form of the benchmark. Ends past the duration (frequent in the official
files) are clipped to it and counted as fixed. The video id keeps its ``v_`` prefix (``v_xxx.mp4``).
"""

from __future__ import annotations

from collections.abc import Iterator

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check, infer_split
from vidllm.data.convert.dense import dense_ground_truth, video_records
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike, read_json

NAME = "activitynet"


def _records(path: PathLike, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError('expected {"v_xxx": {"duration", "timestamps", "sentences"}, ...}', path=path)
    picker = PromptPicker(options.prompt_set, options.seed, dataset="ActivityNet Captions")
    for vid, ann in data.items():
        bad = None
        if not isinstance(ann, dict):
            bad = ("expected an object", None)
        elif not isinstance(ann.get("timestamps"), list) or not isinstance(ann.get("sentences"), list):
            bad = ("expected 'timestamps' and 'sentences' lists", "timestamps")
        elif len(ann["timestamps"]) != len(ann["sentences"]):
            bad = (f"{len(ann['timestamps'])} timestamps but {len(ann['sentences'])} sentences", "sentences")
        elif not all(isinstance(t, list | tuple) and len(t) == 2 for t in ann["timestamps"]):
            bad = ("expected [start, end] pairs", "timestamps")
        if bad is not None:
            skip_or_raise(Problem(bad[0], str(path), vid, bad[1]), report, strict=options.strict)
            continue
        duration = ann.get("duration")
        events = [(s, e, str(c)) for (s, e), c in zip(ann["timestamps"], ann["sentences"])]
        yield from video_records(vid, options.video(vid), duration, events, options=options, picker=picker,
                                 source=f"{path}:{vid}")  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert an ActivityNet Captions file (see the module docstring)."""
    options = options or ConvertOptions()
    split = options.split or infer_split(path, "val")
    report = LoadReport(str(path))
    records = check(_records(path, options, report), report, options.strict)
    return Converted(NAME, split, records, dense_ground_truth(records), report)
