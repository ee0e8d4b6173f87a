"""DiDeMo: ``{train,val,test}_data.json`` -> grounding records + GT.

Each item: ``{"annotation_id", "description", "video", "times": [[a, b], ...], "download_link", "num_segments"}``.
Videos are cut into 5-s chunks: chunk ``k`` is ``[5k, 5k + 5]``, the last one ending at the video's end. ``times``
holds one ``(first chunk, last chunk)`` pair per annotator (usually 4).

**The ground-truth moment** is the pair most annotators gave; on a tie, the tied pair given first (the order of
``times``). It spans ``[5a, 5b + 5]`` seconds, the end capped by the duration when it is known (``durations``),
else by ``5 * num_segments`` (the annotated length). All annotator pairs stay in ``meta["times"]`` for DiDeMo's own
rank-based evaluation. The video name is used as given, extension included (``video_template`` default ``{vid}``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from vidllm.data.convert.common import (
    Converted,
    ConvertOptions,
    PromptPicker,
    convert_moments,
    sentence,
)
from vidllm.data.records import Record, Targets
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike, read_json

NAME = "didemo"
CHUNK = 5.0


def consensus_chunks(times: list[list[int]]) -> tuple[int, int]:
    """The ``(first, last)`` chunk pair most annotators gave; ties go to the one given first."""
    counts = Counter(tuple(t) for t in times)
    best = max(counts.values())
    return next(tuple(t) for t in times if counts[tuple(t)] == best)


def chunks_to_seconds(first: int, last: int, end_cap: float | None) -> tuple[float, float]:
    """Chunks ``first..last`` as seconds ``[5 first, 5 last + 5]``, the end capped at ``end_cap``."""
    start, end = CHUNK * first, CHUNK * (last + 1)
    return start, (min(end, end_cap) if end_cap is not None else end)


def _records(path: PathLike, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError('expected a list of {"video", "times", "description"} items', path=path)
    picker = PromptPicker(options.prompt_set, options.seed, dataset="DiDeMo")
    durations = options.durations or {}
    for i, item in enumerate(data):
        index = item.get("annotation_id", i) if isinstance(item, dict) else i
        times = item.get("times") if isinstance(item, dict) else None
        ok = isinstance(times, list) and times and all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(x, int) and x >= 0 for x in t) for t in times
        )  # fmt: skip
        if not ok or not isinstance(item.get("video"), str) or not isinstance(item.get("description"), str):
            field = "times" if not ok else "video" if not isinstance(item.get("video"), str) else "description"
            skip_or_raise(Problem("expected 'video', 'description' and 'times' [[first, last] chunk pairs]",
                                  str(path), index, field), report, strict=options.strict)  # fmt: skip
            continue
        vid = item["video"]
        duration = durations.get(vid)
        num_segments = item.get("num_segments")
        cap = duration if duration is not None else (CHUNK * num_segments if isinstance(num_segments, int) else None)
        first, last = consensus_chunks(times)
        query = sentence(item["description"])
        yield (
            str(index),
            Record(
                video=options.video(vid, "{vid}"),
                task="mr",
                prompt=picker("mr", query),
                targets=Targets(intervals=(chunks_to_seconds(first, last, cap),)),
                duration=duration,
                query=query,
                source=f"{path}:{i}",
                meta={"vid": vid, "annotation_id": item.get("annotation_id"), "times": times},
            ),
        )


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert a DiDeMo annotation file (see the module docstring)."""
    return convert_moments(NAME, path, options, _records, lambda r: r.meta["vid"], lambda r: f"{r.query}.")
