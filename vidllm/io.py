"""Reading and writing the JSON / JSONL files that annotations, predictions and results live in.

Every reader raises :class:`DataError`, whose message names the file, the record and the field, says what was
expected and what came, so a bad file is fixed in one look instead of by reading a traceback.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike


class DataError(ValueError):
    """A file's content is not what vidllm expected.

    Args:
        message: What was expected, what came and how to fix it.
        path: The file the problem is in.
        record: The record's index or id (``qid``, video key, line number), if the problem is in one record.
        field: The field of that record, if the problem is in one field.
    """

    def __init__(self, message: str, *, path: PathLike | None = None, record: Any = None, field: str | None = None):
        self.path, self.record, self.field = path, record, field
        where = []
        if path is not None:
            where.append(str(path))
        if record is not None:
            where.append(f"record {record!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


def read_json(path: PathLike) -> Any:
    """Load a JSON file; a missing file raises ``FileNotFoundError``, malformed JSON a :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})", path=path) from None


def iter_jsonl(path: PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` for every non-empty line of a JSON-lines file (line numbers start at 1)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"line is not valid JSON ({e.msg})", path=path, record=f"line {lineno}") from None


def read_jsonl(path: PathLike) -> list[Any]:
    """Load every record of a JSON-lines file."""
    return [obj for _, obj in iter_jsonl(path)]


def read_json_or_jsonl(path: PathLike) -> Any:
    """Load ``.jsonl`` files line by line and anything else as one JSON document."""
    return read_jsonl(path) if str(path).endswith(".jsonl") else read_json(path)


def write_json(obj: Any, path: PathLike, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON, creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")
    return path


def write_jsonl(records: list[Any], path: PathLike) -> Path:
    """Write one JSON object per line, creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def read_interval(value: Any, path: PathLike | None, record: Any, field: str) -> tuple[float, float]:
    """``value`` as ``(start, end)`` seconds; anything but two finite numbers is a :class:`DataError` naming the file,
    record and field."""
    ok = isinstance(value, list | tuple) and len(value) == 2
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok:
        raise DataError(
            f"expected an interval [start, end] of two numbers (seconds), got {value!r}",
            path=path,
            record=record,
            field=field,
        )
    return float(value[0]), float(value[1])
