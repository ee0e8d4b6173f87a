"""Typed configs: dataclasses, filled from a YAML file and ``key=value`` overrides, checked field by field.

YAML files in ``train_configs/`` and ``eval_configs/`` only set fields of these dataclasses; nothing else reads them.
A field's ``metadata`` may carry ``help`` (shown by ``--help``-style listings) and ``choices`` (the allowed values).

>>> from dataclasses import dataclass, field
>>> @dataclass
... class Optim:
...     lr: float = 1e-4
...     schedule: str = field(default="cosine", metadata={"choices": ["cosine", "linear"]})
>>> load_config(Optim, overrides=["lr=2e-4"]).lr
0.0002
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vidllm.errors import UserError

T = TypeVar("T")


class ConfigError(UserError):
    """A config value is missing, unknown or of the wrong type; the message names the field and what is allowed."""


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    labels: Mapping[str, str] | None = None,
) -> T:
    """Build ``cls`` from a YAML file (optional) and ``dotted.key=value`` overrides, applied in that order.

    Args:
        cls: A dataclass type; nested dataclass fields are nested mappings in YAML and dotted keys in overrides.
        path: YAML file whose top-level mapping sets fields of ``cls``.
        overrides: Strings like ``"optim.lr=2e-4"``; the value is read as YAML (``true``, ``[1, 2]``, ``null``).
        labels: How the user wrote an override, by dotted key (``{"sampling.fps": "--fps 2"}`` for a flag), named in
            its errors; default ``override KEY=VALUE``.

    Raises:
        ConfigError: Naming the source of the bad value (the YAML file, or the override / flag that set it), the
            dotted field, what was expected and what came.
        FileNotFoundError: If ``path`` does not exist.
    """
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder; expected a YAML config file (e.g. train_configs/tiny_cpu.yaml)")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        source = str(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); re-save the config as UTF-8") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of field names to values, got {type(loaded).__name__}")
        data = loaded or {}
    set_by: dict[str, str] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        label = (labels or {}).get(key, f"override {item}")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. optim.lr=2e-4")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{label}: the value is not valid YAML ({' '.join(str(e).split())})") from None
        _set_dotted(data, key, value, label)
        set_by[key] = label
    return from_dict(cls, data, where=source, set_by=set_by)


def _set_dotted(data: dict, key: str, value: Any, label: str) -> None:
    *parents, last = key.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{label}: {p!r} is a value, not a group of fields")
    node[last] = value


def _source(where: str, set_by: Mapping[str, str], name: str) -> str:
    """Who set field ``name`` (dotted, maybe with ``[i]``): the override / flag that did, else the YAML file."""
    key = name.split("[")[0]
    while key:
        if key in set_by:
            return set_by[key]
        key = key.rpartition(".")[0]
    return where


def _group_source(where: str, set_by: Mapping[str, str], prefix: str) -> str:
    """Who set the fields of a group (a cross-field rule failed): the YAML file and/or the overrides inside it."""
    inside = [label for key, label in set_by.items() if key.startswith(prefix)]
    if not inside:
        return where
    shown = ", ".join(inside[:3]) + (f" (and {len(inside) - 3} more)" if len(inside) > 3 else "")
    return shown if where == "config" else f"{where} with {shown}"


def from_dict(
    cls: type[T],
    data: Mapping[str, Any],
    *,
    where: str = "config",
    prefix: str = "",
    set_by: Mapping[str, str] | None = None,
) -> T:
    """Build dataclass ``cls`` from a mapping, converting and checking every field (see :func:`load_config`).

    ``set_by`` maps dotted keys set by overrides to how the user wrote them, so an error names that, not ``where``.
    """
    set_by = set_by or {}
    if not isinstance(data, Mapping):
        name = prefix.rstrip(".") or cls.__name__
        raise ConfigError(f"{_source(where, set_by, name)}: field {name}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(str(k), fields, n=1)
        hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
        raise ConfigError(
            f"{_source(where, set_by, f'{prefix}{k}')}: unknown field {prefix}{k}{hint}; valid fields of "
            f"{cls.__name__}: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        f = fields[name]
        if isinstance(value, Mapping) and f.default_factory is not dataclasses.MISSING:
            # a group set in part (``scenes.fps=[1,2]``) keeps the rest of the field's own default, not the class's
            default = f.default_factory()
            if dataclasses.is_dataclass(default):
                value = _merged(_init_values(default), value)
        kwargs[name] = _convert(value, hints[name], f"{prefix}{name}", where, f.metadata.get("choices"), set_by)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"{_group_source(where, set_by, prefix)}: {prefix.rstrip('.') or cls.__name__}: {e}"
        ) from None


class _Group(dict):
    """The values of a nested dataclass as a mapping: merged key by key (a dict-valued field is replaced whole)."""


def _init_values(obj: Any) -> _Group:
    """A dataclass instance's ``init`` fields as a nested mapping (nested dataclasses as mappings too)."""
    return _Group({f.name: _init_values(v) if dataclasses.is_dataclass(v := getattr(obj, f.name)) else v
                   for f in dataclasses.fields(obj) if f.init})  # fmt: skip


def _merged(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` over it; nested groups merged key by key, a dict-valued field (``rl.rewards``)
    replaced by the update's value."""
    out = dict(base)
    for k, v in update.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), _Group) else v
    return out


def _convert(
    value: Any, tp: Any, name: str, where: str, choices: Sequence | None, set_by: Mapping[str, str] | None = None
) -> Any:
    set_by = set_by or {}

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{_source(where, set_by, name)}: field {name}: expected {expected}, got {value!r}")

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _convert(value, a, name, where, choices, set_by)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, where=where, prefix=f"{name}.", set_by=set_by)
    if origin is typing.Literal:
        if value not in args:
            raise fail(f"one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            raise fail("a list")
        item = args[0] if args else Any
        out = [_convert(v, item, f"{name}[{i}]", where, None, set_by) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple or tp is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise fail("a mapping")
        return dict(value)
    converted = _scalar(value, tp, fail)
    if choices is not None and converted not in choices:
        raise ConfigError(
            f"{_source(where, set_by, name)}: field {name}: expected one of {', '.join(map(str, choices))}, "
            f"got {value!r}"
        )
    return converted


def _scalar(value: Any, tp: Any, fail) -> Any:
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise fail("true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail("an integer")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise fail("a number")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise fail("a string")
    if tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise fail("a path")
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain YAML-able data (paths as strings)."""

    def plain(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(config))


def save_config(config: Any, path: str | Path) -> Path:
    """Write a config as YAML that :func:`load_config` reads back to an equal config."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding="utf-8")
    return path
