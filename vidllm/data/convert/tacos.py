"""TACoS (2D-TAN's ``{train,val,test}.json``) -> grounding records + TimeChat-style grounding GT.

The annotation file maps each video to its frame rate, length in frames, and parallel lists of moments (in frames)
and sentences::

    {"s13-d21.avi": {"fps": 29.4, "num_frames": 4481, "timestamps": [[0, 338], ...], "sentences": ["...", ...]}}

Frames become seconds here (``frame / fps``), once; the video's duration is ``num_frames / fps``. The ground truth
is the COCO-caption form ``vidllm score tvg`` and the ``tacos`` evaluation task read, one annotation per moment,
``id`` in file order; the video id is the key without its extension. A moment whose start is after its end is
swapped and counted; one with no sentence, a non-positive fps or frames that are not numbers is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Real

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
from vidllm.io import PathLike, read_json

NAME = "tacos"


def _finite(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _records(path: PathLike, options: ConvertOptions, report: LoadReport) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="tacos")
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected {{video: {{fps, num_frames, timestamps, sentences}}}}, got {type(data)}")
    for video, entry in data.items():
        vid = video.rsplit(".", 1)[0]
        fps = entry.get("fps") if isinstance(entry, dict) else None
        if not (_finite(fps) and fps > 0) or not isinstance(entry.get("timestamps"), list):
            skip_or_raise(Problem(f"expected a positive 'fps' and a 'timestamps' list, got fps={fps!r}", str(path),
                                  video, "fps"), report, strict=options.strict)  # fmt: skip
            continue
        frames = entry.get("num_frames")
        duration = frames / fps if _finite(frames) and frames > 0 else None
        for k, (span, text) in enumerate(zip(entry["timestamps"], entry.get("sentences") or [])):
            index = f"{video}[{k}]"
            if not (isinstance(span, list) and len(span) == 2 and all(_finite(v) for v in span)) or not str(text):
                skip_or_raise(Problem(f"expected [start_frame, end_frame] and a sentence, got {span!r}", str(path),
                                      index, "timestamps"), report, strict=options.strict)  # fmt: skip
                continue
            start, end = sorted((span[0] / fps, span[1] / fps))
            if span[0] > span[1]:
                report.problems.append(Problem(f"moment {span!r} ends before it starts; swapped", str(path), index,
                                               "timestamps", fixed=True))  # fmt: skip
            q = sentence(text)
            meta = {"vid": vid, "video": video, "caption": str(text).strip()}
            yield index, moment_record(picker, options.video(vid), q, (start, end), duration=duration,
                                       source=f"{path}:{index}", meta=meta)  # fmt: skip


def convert(path: PathLike, options: ConvertOptions | None = None) -> Converted:
    """Convert a TACoS annotation file (see the module docstring)."""
    return convert_moments(
        NAME, path, options, _records, lambda r: r.meta["video"], lambda r: r.meta["caption"], durations=True
    )
