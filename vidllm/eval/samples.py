"""The sample store of an evaluation run: one JSON line per finished sample, appended as soon as it is done.

Layout of an output folder::

    parts/rank<r>.jsonl   lines appended by rank r (one file per rank; a single process is rank 0)
    samples.jsonl         all samples in query order, one line each (written by rank 0 at the end)

A line::

    {"id": "12", "task": "mr", "key": 12, "video": "3MSZA.mp4", "query": "person turn a light on.",
     "prompt": "...", "answer": "24.3 - 30.4 seconds", "status": "ok", "error": null,
     "parsed": {"intervals": [[24.3, 30.4]]}, "video_duration": 31.2, "num_frames": 32, "sample_fps": 1.0}

``status`` is one of :data:`STATUSES`. ``ok`` and ``unparseable`` lines are final: a rerun skips them. Lines of
samples whose video was missing or corrupt (or that failed otherwise) are retried on a rerun unless that is turned
off; the newest line of a sample wins.

A process killed while writing leaves at most one partial last line: it is skipped when read (and counted), and the
next append starts on a new line, so nothing written before is lost.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

STATUSES = ("ok", "unparseable", "missing_video", "corrupt_video", "error")
"""``ok``: the answer was read; ``unparseable``: nothing usable in the answer (scored as a miss); ``missing_video``:
no such file; ``corrupt_video``: the file did not decode; ``error``: building the inputs or generating failed."""

FINAL = frozenset({"ok", "unparseable"})
FAILED = frozenset({"missing_video", "corrupt_video", "error"})

PARTS_DIR = "parts"
MERGED = "samples.jsonl"


def part_path(out_dir: str | os.PathLike, rank: int) -> Path:
    """The file rank ``rank`` appends to."""
    return Path(out_dir) / PARTS_DIR / f"rank{rank}.jsonl"


def read_lines(path: str | os.PathLike) -> tuple[list[dict], int]:
    """The sample lines of one file, in file order, and how many lines were unreadable (a partial last line)."""
    lines, bad = [], 0
    path = Path(path)
    if not path.is_file():
        return lines, bad
    with path.open(encoding="utf-8") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj.get("status") in STATUSES:
                lines.append(obj)
            else:
                bad += 1
    if bad:
        logger.warning("%s: skipped %d unreadable line(s) (a run killed while writing leaves one)", path, bad)
    return lines, bad


def read_parts(out_dir: str | os.PathLike) -> dict[str, dict]:
    """The newest line of every sample across all rank files; a final line beats a later failure line.

    Files are read in rank order and each file in line order, so "newest" is exact within a file; across files (a
    sample retried by another rank in a later run with a different world size) a final line wins over a failure
    line, which is the only case where two files hold the same sample.
    """
    best: dict[str, dict] = {}
    for path in sorted((Path(out_dir) / PARTS_DIR).glob("rank*.jsonl")):
        for line in read_lines(path)[0]:
            old = best.get(line["id"])
            if old is None or line["status"] in FINAL or old["status"] not in FINAL:
                best[line["id"]] = line
    return best


def done_ids(lines: Mapping[str, Mapping], *, retry_failed: bool) -> set[str]:
    """Ids a rerun skips: final lines, plus failure lines unless ``retry_failed``."""
    return {i for i, line in lines.items() if line["status"] in FINAL or not retry_failed}


class SampleWriter:
    """Appends sample lines to a rank's file, flushed and synced after each batch.

    Use as a context manager::

        with SampleWriter(part_path(out_dir, rank)) as writer:
            writer.write_batch(lines)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = None

    def __enter__(self) -> SampleWriter:
        needs_newline = self.path.is_file() and self.path.stat().st_size > 0 and not _ends_with_newline(self.path)
        self._file = self.path.open("a", encoding="utf-8")
        if needs_newline:  # a partial line from a killed run: end it, so the next line stays readable
            self._file.write("\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write_batch(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Append lines and make them durable (flush + fsync)."""
        if self._file is None:
            raise RuntimeError("SampleWriter: use it inside a `with` block")
        for line in lines:
            self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def write_merged(out_dir: str | os.PathLike, ordered_ids: Sequence[str], lines: Mapping[str, Mapping]) -> Path:
    """Write ``samples.jsonl``: the lines of ``ordered_ids`` that exist, in that order (atomically replaced)."""
    path = Path(out_dir) / MERGED
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as f:
        for i in ordered_ids:
            if i in lines:
                f.write(json.dumps(lines[i], ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def status_counts(lines: Iterable[Mapping]) -> dict[str, int]:
    """How many lines have each status (every status listed, zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for line in lines:
        counts[line["status"]] += 1
    return counts
