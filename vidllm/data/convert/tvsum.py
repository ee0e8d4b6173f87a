"""TVSum: ``ydata-tvsum50-anno.tsv`` per-frame importance -> summarization records + per-clip GT.

The annotation file has one line per (video, annotator): ``video_id <TAB> category <TAB> s1,s2,...`` with one score
(1-5) per frame, 20 annotators per video. Frame numbers become seconds with the video's frame rate, from its
duration: ``fps = frames / duration``. Durations come from ``ydata-tvsum50-info.tsv`` (``info_path``, column
``length``, ``m:ss`` or ``h:mm:ss``) or from ``durations``.

Clip ``i`` covers ``[2i, 2i + 2)`` s (``int(duration / 2)`` clips, as QVHighlights counts them). An annotator's clip
score is the mean of their frame scores in it; the record's saliency is the mean over annotators, for every clip
(``vs`` task, no query). The ground truth is QVHighlights-style JSON lines with every clip relevant and one column
per annotator (20, scores 1-5), the title (info file) or the category as the query.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from vidllm.data.answers import SUMMARY_CAPTIONS
from vidllm.data.convert.common import Converted, ConvertOptions, PromptPicker, check
from vidllm.data.prompts import QUERY, templates
from vidllm.data.records import Record, Targets
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.io import DataError, PathLike
from vidllm.time import parse_time

NAME = "tvsum"
CLIP_LENGTH = 2.0


def read_info(path: PathLike) -> dict[str, dict[str, object]]:
    """``ydata-tvsum50-info.tsv`` as ``{video_id: {"title", "category", "duration"}}``."""
    out: dict[str, dict[str, object]] = {}
    with Path(path).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if not {"video_id", "length"} <= set(reader.fieldnames or []):
            raise DataError(f"expected 'video_id' and 'length' columns, got {reader.fieldnames}", path=path)
        for row in reader:
            duration = parse_time(row["length"])
            if duration is None:
                raise DataError(f"expected a length like '2:35', got {row['length']!r}", path=path,
                                record=row["video_id"], field="length")  # fmt: skip
            out[row["video_id"]] = {"title": row.get("title"), "category": row.get("category"), "duration": duration}
    return out


def read_annotations(path: PathLike, report: LoadReport, strict: bool) -> dict[str, dict[str, object]]:
    """``{video_id: {"category", "scores": [per-annotator list of per-frame scores]}}``, in file order."""
    videos: dict[str, dict[str, object]] = {}
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                if len(parts) != 3:
                    raise ValueError
                scores = [float(x) for x in parts[2].split(",")]
                if not all(math.isfinite(s) for s in scores):
                    raise ValueError
            except ValueError:
                skip_or_raise(Problem("expected '<video_id> <TAB> <category> <TAB> <comma-separated frame scores>'",
                                      str(path), f"line {lineno}"), report, strict=strict)  # fmt: skip
                continue
            entry = videos.setdefault(parts[0], {"category": parts[1], "scores": []})
            entry["scores"].append(scores)
    return videos


def clip_scores(
    frame_scores: list[float], fps: float, num_clips: int, clip_length: float = CLIP_LENGTH
) -> list[float]:
    """One annotator's mean frame score in each clip (a clip with no frame gets the nearest frame's score)."""
    out = []
    for i in range(num_clips):
        lo = min(math.floor(i * clip_length * fps), len(frame_scores) - 1)
        hi = max(min(math.floor((i + 1) * clip_length * fps), len(frame_scores)), lo + 1)
        window = frame_scores[lo:hi]
        out.append(sum(window) / len(window))
    return out


def _records(path, options, info, report, gt) -> Iterator[tuple[str, Record]]:
    picker = PromptPicker(options.prompt_set, options.seed, dataset="TVSum")
    needs_query = any(QUERY in t for t in templates(options.prompt_set, "vs"))
    durations = {vid: v["duration"] for vid, v in info.items()} | (options.durations or {})
    for qid, (vid, entry) in enumerate(read_annotations(path, report, options.strict).items()):
        duration = durations.get(vid)
        frames = {len(s) for s in entry["scores"]}
        if duration is None or not duration > 0 or len(frames) != 1:
            message = (
                f"no duration for {vid}: pass the info file (--info ydata-tvsum50-info.tsv) or --durations"
                if duration is None or not duration > 0
                else "annotators give different frame counts"
            )
            skip_or_raise(Problem(message, str(path), vid, "duration" if len(frames) == 1 else "scores"), report,
                          strict=options.strict)  # fmt: skip
            continue
        (num_frames,) = frames
        fps = num_frames / duration
        num_clips = int(duration / CLIP_LENGTH)
        per_annotator = [clip_scores(s, fps, num_clips) for s in entry["scores"]]
        mean = [sum(col) / len(col) for col in zip(*per_annotator)]
        query = picker.rng.choice(SUMMARY_CAPTIONS) if needs_query else None
        title = (info.get(vid) or {}).get("title") or entry["category"]
        record = Record(
            video=options.video(vid),
            task="vs",
            prompt=picker("vs", query),
            targets=Targets(saliency=tuple((CLIP_LENGTH * i, s) for i, s in enumerate(mean)), clip_length=CLIP_LENGTH),
            duration=duration,
            query=query,
            source=f"{path}:{vid}",
            meta={"vid": vid, "qid": qid, "category": entry["category"]},
        )
        gt[vid] = {
            "qid": qid,
            "query": title,
            "duration": duration,
            "vid": vid,
            "relevant_clip_ids": list(range(num_clips)),
            "saliency_scores": [list(col) for col in zip(*per_annotator)],
            "relevant_windows": [[0, duration]],
        }
        yield vid, record


def convert(path: PathLike, options: ConvertOptions | None = None, *, info_path: PathLike | None = None) -> Converted:
    """Convert TVSum's per-frame annotations (see the module docstring); ``info_path`` gives durations and titles."""
    options = options or ConvertOptions()
    split = options.split or "test"
    options.wants("vs", ("vs",), ("vs",))
    info = read_info(info_path) if info_path is not None else {}
    report = LoadReport(str(path))
    gt: dict[str, dict] = {}
    records = check(_records(path, options, info, report, gt), report, options.strict)
    lines = [gt[r.meta["vid"]] for r in records]
    return Converted(NAME, split, records, {"hd": lines}, report)
