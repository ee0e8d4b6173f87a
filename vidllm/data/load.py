"""One entry point for instruction files: detect the format, read, check, and optionally cache as Arrow.

>>> records, report = load_records("vtg_it_style_records.json", video_root="/data/videos")  # doctest: +SKIP

Formats (``format="auto"`` looks at the first item):

* ``vtg_it``: VTG-IT-120K / TimeIT (``{"video", "QA": [{"q", "a"}]}``), :mod:`vidllm.data.vtg_it`;
* ``sharegpt``: LLaMA-Factory video data (``{"messages" | "conversations", "videos"}``), :mod:`vidllm.data.sharegpt`;
* ``records``: vidllm's own JSON lines (:func:`vidllm.data.records.write_records`).

With ``use_arrow=True`` the checked records are written once to an Arrow cache (HF ``datasets``) keyed by the file's
path, size, modification time and the reader options; later loads memory-map it instead of parsing the JSON, so a
120k-record file costs no RAM per worker. The records then come as an :class:`ArrowRecords` sequence, which builds
each :class:`~vidllm.data.records.Record` when it is indexed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vidllm.data.records import Record, Targets
from vidllm.data.sharegpt import iter_sharegpt_records
from vidllm.data.validate import LoadReport, Problem, check_records, check_videos, log_report
from vidllm.data.vtg_it import Loaded, iter_vtg_it_records
from vidllm.io import DataError, PathLike, read_json_or_jsonl

logger = logging.getLogger(__name__)

FORMATS = ("auto", "vtg_it", "sharegpt", "records")
CACHE_VERSION = 1  # bump when the row layout or the readers change what they produce

DEFAULT_CACHE_DIR = Path(os.environ.get("VIDLLM_CACHE", Path.home() / ".cache" / "vidllm")) / "records"


def detect_format(items: Any, path: PathLike | None = None) -> str:
    """``vtg_it``, ``sharegpt`` or ``records``, from the keys of the first item.

    Raises:
        DataError: An empty file or an item of none of those forms.
    """
    if not isinstance(items, list) or not items:
        raise DataError("expected a non-empty list of records", path=path)
    first = items[0]
    if isinstance(first, dict):
        if "QA" in first:
            return "vtg_it"
        if "messages" in first or "conversations" in first:
            return "sharegpt"
        if "targets" in first and "task" in first:
            return "records"
    raise DataError(
        'cannot tell the format from the first item; expected VTG-IT ({"video", "QA"}), sharegpt ({"messages", '
        '"videos"}) or vidllm records ({"video", "task", "targets"}); pass format=... to say which',
        path=path,
        record=0,
    )


def _iter_own_records(items: list, path: PathLike, report: LoadReport, strict: bool) -> Iterator[tuple[int, Record]]:
    for i, obj in enumerate(items):
        try:
            yield i, Record.from_dict(obj)
        except (KeyError, TypeError, ValueError) as e:
            problem = Problem(f"not a vidllm record ({type(e).__name__}: {e})", str(path), i)
            if strict:
                raise problem.error() from None
            report.read += 1
            report.problems.append(problem)


def read_records(
    path: PathLike,
    *,
    format: str = "auto",
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    strict: bool = False,
    fix: bool = True,
) -> Loaded:
    """Read and check any supported instruction file into a list of records (no cache; see :func:`load_records`)."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; valid formats: {', '.join(FORMATS)}")
    items = read_json_or_jsonl(path)
    fmt = detect_format(items, path) if format == "auto" else format
    report = LoadReport(str(path))
    options = {"path": path, "video_root": video_root, "strip_prefix": strip_prefix, "task": task, "fps": fps,
               "num_bins": num_bins, "clip_length": clip_length, "report": report, "strict": strict}  # fmt: skip
    if fmt == "vtg_it":
        pairs = iter_vtg_it_records(items, **options)
    elif fmt == "sharegpt":
        pairs = iter_sharegpt_records(items, **options)
    else:
        pairs = _iter_own_records(items, path, report, strict)
    return Loaded(check_records(pairs, report, strict=strict, fix=fix), report)


# ------------------------------------------------------------------------------------------------------ Arrow cache


def _features():
    from datasets import Features, Value

    f64, text = Value("float64"), Value("string")
    return Features({
        "video": text, "task": text, "prompt": text, "duration": f64, "query": text, "answer": text,
        "system": text, "source": text, "meta": text,
        "history": [{"user": text, "assistant": text}],
        "intervals": [[f64]], "captions": [{"start": f64, "end": f64, "text": text}], "saliency": [[f64]],
        "clip_length": f64,
    })  # fmt: skip


def record_to_row(record: Record) -> dict[str, Any]:
    """The Arrow row of a record (flat columns; ``meta`` as a JSON string)."""
    t = record.targets
    return {
        "video": record.video,
        "task": record.task,
        "prompt": record.prompt,
        "duration": record.duration,
        "query": record.query,
        "answer": record.answer,
        "system": record.system,
        "source": record.source,
        "meta": json.dumps(record.meta, ensure_ascii=False),
        "history": [{"user": u, "assistant": a} for u, a in record.history],
        "intervals": [list(i) for i in t.intervals],
        "captions": [{"start": s, "end": e, "text": c} for s, e, c in t.captions],
        "saliency": [list(p) for p in t.saliency],
        "clip_length": t.clip_length,
    }


def row_to_record(row: dict[str, Any]) -> Record:
    """Inverse of :func:`record_to_row`."""
    targets = Targets(
        intervals=tuple((s, e) for s, e in row["intervals"]),
        captions=tuple((c["start"], c["end"], c["text"]) for c in row["captions"]),
        saliency=tuple((t, v) for t, v in row["saliency"]),
        clip_length=row["clip_length"],
    )
    return Record(
        video=row["video"],
        task=row["task"],
        prompt=row["prompt"],
        targets=targets,
        duration=row["duration"],
        query=row["query"],
        answer=row["answer"],
        system=row["system"],
        history=tuple((h["user"], h["assistant"]) for h in row["history"]),
        source=row["source"],
        meta=json.loads(row["meta"]) if row["meta"] else {},
    )


class ArrowRecords(Sequence):
    """Records backed by a memory-mapped Arrow table; indexing builds a :class:`Record`.

    Attributes:
        dataset: The underlying HF ``datasets.Dataset`` (columns as in :func:`record_to_row`), for ``filter``,
            ``select``, column access (``dataset["task"]``) and ``set_transform``.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [row_to_record(r) for r in self.dataset.select(range(*index.indices(len(self))))]
        return row_to_record(self.dataset[index])

    def __iter__(self) -> Iterator[Record]:
        for row in self.dataset:
            yield row_to_record(row)


def _cache_key(path: Path, options: dict[str, Any]) -> str:
    stat = path.stat()
    payload = json.dumps(
        [CACHE_VERSION, str(path.resolve()), stat.st_size, stat.st_mtime_ns, sorted(options.items())], default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _report_from_json(obj: dict) -> LoadReport:
    report = LoadReport(obj["path"], obj["read"], obj["kept"], [Problem(**p) for p in obj["problems"]])
    return report


def _report_to_json(report: LoadReport) -> dict:
    problems = [{"message": p.message, "path": p.path, "record": p.record, "field": p.field, "fixed": p.fixed}
                for p in report.problems]  # fmt: skip
    return {"path": report.path, "read": report.read, "kept": report.kept, "problems": problems}


def load_records(
    path: PathLike,
    *,
    format: str = "auto",
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    strict: bool = False,
    fix: bool = True,
    check_video_files: bool = False,
    use_arrow: bool = False,
    cache_dir: PathLike | None = None,
) -> Loaded:
    """Read, check and (optionally) Arrow-cache an instruction file.

    Args:
        path: A VTG-IT / TimeIT ``.json``, a sharegpt ``.json``/``.jsonl`` or a vidllm records ``.jsonl``.
        format: ``auto`` (detect), ``vtg_it``, ``sharegpt`` or ``records``.
        video_root: Where the videos are; paths inside it are made relative.
        strip_prefix: A leading part of the stored paths to remove.
        task: Force this task for every record.
        fps: Sampling rate, to read answers in frame numbers.
        num_bins: Token count, to read answers in ``<tk>`` tokens.
        clip_length: Saliency clip length of highlight answers.
        strict: Raise the first record problem instead of skipping the record.
        fix: Fix what can be fixed (see :mod:`vidllm.data.validate`).
        check_video_files: Count records whose video is not under ``video_root`` (into ``report.missing_videos``).
        use_arrow: Cache the checked records as Arrow and return them memory-mapped (:class:`ArrowRecords`).
        cache_dir: Where the Arrow caches go (default ``$VIDLLM_CACHE/records``, ``~/.cache/vidllm/records``).

    Returns:
        ``Loaded(records, report)``; ``records`` is a list, or an :class:`ArrowRecords` with ``use_arrow``.
    """
    path = Path(path)
    options = {"format": format, "video_root": video_root, "strip_prefix": strip_prefix, "task": task, "fps": fps,
               "num_bins": num_bins, "clip_length": clip_length, "strict": strict, "fix": fix}  # fmt: skip
    if check_video_files and video_root is None:
        raise ValueError("check_video_files needs the video_root the videos are under")
    if not use_arrow:
        records, report = read_records(path, **options)
    else:
        records, report = _load_arrow(path, options, Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR)
    if check_video_files:
        check_videos(records, video_root, report)
    log_report(report)
    return Loaded(records, report)


def _load_arrow(path: Path, options: dict[str, Any], cache_dir: Path) -> tuple[ArrowRecords, LoadReport]:
    from datasets import Dataset, load_from_disk

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    target = cache_dir / _cache_key(path, options)
    report_file = target / "vidllm_report.json"
    if not report_file.is_file():
        records, report = read_records(path, **options)
        building = target.with_name(target.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        rows = [record_to_row(r) for r in records]
        Dataset.from_list(rows, features=_features()).save_to_disk(str(building))
        (building / "vidllm_report.json").write_text(json.dumps(_report_to_json(report)), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)  # the cache appears whole or not at all
        logger.info("cached %d records of %s as Arrow in %s", len(records), path, target)
    else:
        logger.info("reading %s from its Arrow cache %s", path, target)
    report = _report_from_json(json.loads(report_file.read_text(encoding="utf-8")))
    return ArrowRecords(load_from_disk(str(target))), report
