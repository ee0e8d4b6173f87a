"""Charades action detection: ``Charades_v1_{train,test}.csv`` + ``Charades_v1_classes.txt`` -> ``tad`` records + GT.

The CSV's ``actions`` column lists every instance as ``c092 11.90 21.20;c147 0.00 12.60`` (class id, start and end
in seconds; empty for a video without actions) and ``length`` is the video's duration. The class file has one
``c000 Holding some clothes`` line per class (157); it is read from ``classes_path`` or, by default, from
``Charades_v1_classes.txt`` beside the CSV. Questions use the ``tad`` templates ("Find every moment where someone
is holding some clothes."). The ground truth (``<split>.tad.json``) keeps every video of the CSV.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check, infer_split
from vidllm.data.convert.tad import ground_truth, video_records
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike

NAME = "charades_tad"
CLASSES_FILE = "Charades_v1_classes.txt"


def read_classes(path: PathLike) -> dict[str, str]:
    """``Charades_v1_classes.txt`` as ``{"c000": "Holding some clothes", ...}`` in file order.

    Raises:
        FileNotFoundError: No such file (the message says how to pass it).
        DataError: A line that is not ``<id> <name>``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no Charades class list; pass Charades_v1_classes.txt (--classes FILE)")
    classes = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        cid, _, name = line.strip().partition(" ")
        if not cid or not name.strip():
            raise DataError(f"expected '<class id> <class name>', got {line!r}", path=path, record=f"line {lineno}")
        classes[cid] = name.strip()
    return classes


def parse_actions(text: str, classes: dict[str, str]) -> list[tuple[float, float, str]]:
    """The ``actions`` column: ``"c092 11.90 21.20;c147 0.00 12.60"`` -> ``[(11.9, 21.2, name), ...]``.

    Raises:
        ValueError: An item that is not ``<class id> <start> <end>``, a time that is not a finite number, or a
            class id not in ``classes`` (the message says which).
    """
    out = []
    for item in (text or "").split(";"):
        if not item.strip():
            continue
        parts = item.split()
        if len(parts) != 3:
            raise ValueError(f"expected '<class id> <start> <end>', got {item.strip()!r}")
        cid, start, end = parts
        if cid not in classes:
            raise ValueError(f"unknown class id {cid!r} (not in the class list)")
        s, e = float(start), float(end)
        if not (math.isfinite(s) and math.isfinite(e)):
            raise ValueError(f"expected finite seconds, got {start!r} and {end!r}")
        out.append((s, e, classes[cid]))
    return out


def _duration(value: str | None) -> float | None:
    try:
        d = float(value) if value not in (None, "") else math.nan
    except ValueError:
        return None
    return d if math.isfinite(d) and d > 0 else None


def _records(
    path: PathLike, classes: dict[str, str], options: ConvertOptions, report: LoadReport, videos: dict
) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="charades")
    durations = options.durations or {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if not {"id", "actions"} <= set(reader.fieldnames or []):
            raise DataError(f"expected 'id' and 'actions' columns (Charades_v1_*.csv), got {reader.fieldnames}",
                            path=path)  # fmt: skip
        for row in reader:
            vid = row["id"]
            duration = _duration(row.get("length")) or durations.get(vid)
            videos[vid] = duration
            try:
                instances = parse_actions(row["actions"], classes)
            except ValueError as e:
                skip_or_raise(Problem(str(e), str(path), vid, "actions"), report, strict=options.strict)
                continue
            yield from video_records(vid, options.video(vid), duration, instances, picker=picker,
                                     template_task="tad", source=f"{path}:{vid}")  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None, classes_path: PathLike | None = None) -> Converted:
    """Convert a Charades CSV (see the module docstring); ``classes_path`` defaults to the class file beside it."""
    options = options or ConvertOptions()
    options.wants("tad", ("tad",), ("tad",))
    split = options.split or infer_split(path, "test")
    classes = read_classes(classes_path or Path(path).with_name(CLASSES_FILE))
    report = LoadReport(str(path))
    videos: dict[str, float | None] = {}
    records = check(_records(path, classes, options, report, videos), report, options.strict)
    return Converted(NAME, split, records, {"tad": ground_truth(records, videos, split, list(classes.values()))},
                     report)  # fmt: skip
