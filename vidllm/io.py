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

from vidllm.errors import UserError

PathLike = str | os.PathLike


class DataError(UserError):
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


def check_file(path: PathLike, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path` after checking that it is a readable file.

    Raises:
        DataError: It is a folder (a common slip: the folder instead of the file in it).
        FileNotFoundError: It does not exist.
        PermissionError: It cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"is a folder; expected a {what} (pass the file inside it)", path=path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path}: cannot read this {what} (permission denied); check its permissions")
    return path


def _object_hook(duplicates: list[str] | None):
    """A JSON ``object_pairs_hook`` that keeps the last value of a repeated key (as ``json`` does) and records it;
    ``None`` (the fast C path) when nobody asks."""
    if duplicates is None:
        return None

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    return hook


def _not_utf8(path: Path, e: UnicodeDecodeError, where: str = "") -> DataError:
    bad = e.object[e.start : e.start + 1]
    return DataError(
        f"not UTF-8 text ({where}byte {e.start} is {bad!r}); expected UTF-8 JSON: re-save the file as UTF-8",
        path=path,
    )


def _too_deep(path: Path, record: Any = None) -> DataError:
    return DataError(
        "nested too deeply to read (Python's JSON reader stops near 1,000 levels); expected records a few levels "
        "deep: check how the file was written",
        path=path,
        record=record,
    )


def read_json(path: PathLike, *, duplicates: list[str] | None = None) -> Any:
    """Load a JSON file; a missing file raises ``FileNotFoundError``, anything unreadable a :class:`DataError`.

    Args:
        path: The file.
        duplicates: If given, every key that appears twice in one object is appended to it (the last value is
            the one kept, as Python's ``json`` does), so a scorer can count and report them.
    """
    path = check_file(path, "JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, e) from None
    try:
        return json.loads(text, object_pairs_hook=_object_hook(duplicates))
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})", path=path) from None
    except RecursionError:
        raise _too_deep(path) from None


def iter_jsonl(path: PathLike, *, duplicates: list[str] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` for every non-empty line of a JSON-lines file (line numbers start at 1).

    ``duplicates`` collects repeated keys as in :func:`read_json`.
    """
    path = check_file(path, "JSON-lines file")
    hook = _object_hook(duplicates)
    with path.open("rb") as f:  # decoded line by line, so a bad byte is reported on its own line
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _not_utf8(path, e, f"line {lineno}: ") from None
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line, object_pairs_hook=hook)
            except json.JSONDecodeError as e:
                raise DataError(f"line is not valid JSON ({e.msg} at column {e.colno})", path=path,
                                record=f"line {lineno}") from None  # fmt: skip
            except RecursionError:
                raise _too_deep(path, f"line {lineno}") from None


def read_jsonl(path: PathLike, *, duplicates: list[str] | None = None) -> list[Any]:
    """Load every record of a JSON-lines file."""
    return [obj for _, obj in iter_jsonl(path, duplicates=duplicates)]


def read_json_or_jsonl(path: PathLike, *, duplicates: list[str] | None = None) -> Any:
    """Load ``.jsonl`` files line by line and anything else as one JSON document."""
    if str(path).endswith(".jsonl"):
        return read_jsonl(path, duplicates=duplicates)
    return read_json(path, duplicates=duplicates)


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
