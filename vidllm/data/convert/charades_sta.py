"""Charades-STA: ``charades_sta_{train,test}.txt`` lines ``<vid> <start> <end>##<query>`` -> grounding records + GT.

The official files (jiyanggao/TALL) have no durations; pass them (``Charades_v1_{train,test}.csv``, column
``length``) to clip ends and to train the ``bins`` scheme. The ground truth is TimeChat's COCO-caption form, one
annotation per kept line, ``id`` in line order, the query as written (with its final period).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from vidllm.data.convert.common import (
    Converted,
    ConvertOptions,
    PromptPicker,
    convert_moments,
    moment_record,
    sentence,
)
from vidllm.data.records import Record
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import PathLike

NAME = "charades_sta"


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _records(path: PathLike, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="charades")
    durations = options.durations or {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            index = f"line {lineno}"
            head, sep, query = line.rstrip("\n").partition("##")
            parts = head.split()
            if not sep or len(parts) != 3 or not query.strip():
                skip_or_raise(Problem(f"expected '<vid> <start> <end>##<query>', got {line.strip()[:80]!r}",
                                      str(path), index), report, strict=options.strict)  # fmt: skip
                continue
            vid, start, end = parts
            try:
                start_s, end_s = _number(start), _number(end)
            except ValueError:
                skip_or_raise(Problem(f"expected numbers of seconds, got {start!r} and {end!r}", str(path), index,
                                      "start/end"), report, strict=options.strict)  # fmt: skip
                continue
            q = sentence(query)
            meta = {"vid": vid, "caption": query.strip()}
            yield index, moment_record(picker, options.video(vid), q, (start_s, end_s), duration=durations.get(vid),
                                       source=f"{path}:{index}", meta=meta)  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert a Charades-STA annotation file (see the module docstring)."""
    return convert_moments(
        NAME, path, options, _records, lambda r: f"{r.meta['vid']}.mp4", lambda r: r.meta["caption"]
    )
