"""YouCook2: ``youcookii_annotations_trainval.json`` -> dense-captioning records + GT for one split.

The official form is ``{"database": {vid: {"duration", "subset": "training" | "validation", "recipe_type",
"annotations": [{"segment": [s, e], "id", "sentence"}], "video_url"}}}``. Only the videos of the requested split are
converted (``val`` by default; ``train``/``val``/``test`` map to the ``subset`` names). One ``dvc`` record per video
(and one ``mr`` per step with ``tasks=("dvc", "mr")``); the ground truth is TimeChat's ``val.caption_coco_format``
form (``segments`` + ``pure_cap``).
"""

from __future__ import annotations

from collections.abc import Iterator

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check
from vidllm.data.convert.dense import dense_ground_truth, video_records
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike, read_json

NAME = "youcook2"
SUBSETS = {"train": "training", "val": "validation", "test": "testing"}


def _records(path: PathLike, split: str, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    data = read_json(path)
    database = data.get("database") if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise DataError('expected {"database": {vid: {"duration", "subset", "annotations"}}}', path=path)
    picker = PromptPicker(options.prompt_set, options.seed, dataset="YouCook2")
    for vid, ann in database.items():
        if not isinstance(ann, dict) or ann.get("subset") != SUBSETS[split]:
            continue
        steps = ann.get("annotations")
        ok = isinstance(steps, list) and steps and all(
            isinstance(a, dict) and isinstance(a.get("segment"), list) and len(a["segment"]) == 2
            and isinstance(a.get("sentence"), str) for a in steps
        )  # fmt: skip
        if not ok:
            skip_or_raise(Problem("expected a list of {segment: [s, e], sentence}", str(path), vid, "annotations"),
                          report, strict=options.strict)  # fmt: skip
            continue
        events = [(a["segment"][0], a["segment"][1], a["sentence"]) for a in steps]
        yield from video_records(vid, options.video(vid), ann.get("duration"), events, options=options,
                                 picker=picker, source=f"{path}:{vid}")  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert the YouCook2 annotation file for ``options.split`` (default ``val``)."""
    options = options or ConvertOptions()
    split = options.split or "val"
    if split not in SUBSETS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SUBSETS)}")
    report = LoadReport(str(path))
    records = check(_records(path, split, options, report), report, options.strict)
    return Converted(NAME, split, records, dense_ground_truth(records), report)
