"""LLaMA-Factory-style sharegpt video data, so users can bring the instruction files they already have.

The form read (LLaMA-Factory's ``sharegpt`` format with a ``videos`` column)::

    [{"messages": [{"role": "user", "content": "<video>When does the man open the door?"},
                   {"role": "assistant", "content": "12.5 - 20.0 seconds, the man opens the door."}],
      "videos": ["charades/3MSZA.mp4"],
      "system": "optional system prompt"}]

Also accepted: ``conversations`` with ``from``/``value`` and ``human``/``gpt`` roles (the original sharegpt tags),
and a ``system`` turn at the start. One record per item: the last user turn is the prompt, the last assistant turn
the answer (decoded into targets as in :mod:`vidllm.data.answers`), earlier pairs the history. The ``<video>``
placeholder is removed from the text: the model adapter places the video itself. Items with more than one video are
skipped (a record holds one video).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vidllm.data.answers import decode_answer, infer_task
from vidllm.data.records import TASKS, Record, render_answer
from vidllm.data.validate import LoadReport, Problem, skip_or_raise
from vidllm.data.vtg_it import Loaded, finish_loading, relative_video
from vidllm.io import DataError, PathLike, read_json_or_jsonl, write_json
from vidllm.time import TimeScheme, get_scheme

VIDEO_PLACEHOLDER = "<video>"
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "system": "system"}


def _turns(item: dict) -> tuple[list[tuple[str, str]] | None, str | None]:
    """``[(role, text)]`` with roles normalised, or ``(None, field)`` naming the field that is malformed."""
    key = "messages" if "messages" in item else "conversations"
    turns = item.get(key)
    if not isinstance(turns, list) or not turns:
        return None, key
    out = []
    for k, t in enumerate(turns):
        if not isinstance(t, dict):
            return None, f"{key}[{k}]"
        role = _ROLES.get(str(t.get("role", t.get("from", ""))).lower())
        text = t.get("content", t.get("value"))
        if role is None or not isinstance(text, str):
            return None, f"{key}[{k}]"
        out.append((role, text))
    return out, None


def iter_sharegpt_records(
    items: Any,
    *,
    path: PathLike | None = None,
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    report: LoadReport | None = None,
    strict: bool = False,
) -> Iterator[tuple[int, Record]]:
    """Build ``(index, record)`` pairs from loaded sharegpt items (validated by :func:`read_sharegpt`)."""
    path_s = str(path) if path is not None else None
    report = report if report is not None else LoadReport(path_s)
    if not isinstance(items, list):
        raise DataError(f'expected a list of {{"messages": [...], "videos": [...]}} items, got {type(items).__name__}',
                        path=path)  # fmt: skip
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            skip_or_raise(Problem(f"expected an object, got {type(item).__name__}", path_s, i), report, strict=strict)
            continue
        turns, bad = _turns(item)
        if turns is None:
            skip_or_raise(
                Problem("expected a list of {role, content} turns (roles user/assistant/system)", path_s, i, bad),
                report,
                strict=strict,
            )
            continue
        videos = item.get("videos")
        if isinstance(videos, str):
            videos = [videos]
        if not (isinstance(videos, list) and len(videos) == 1 and isinstance(videos[0], str) and videos[0]):
            skip_or_raise(Problem(f"expected exactly one video path, got {videos!r}", path_s, i, "videos"), report,
                          strict=strict)  # fmt: skip
            continue
        system = item.get("system") if isinstance(item.get("system"), str) else None
        if turns[0][0] == "system":
            system = turns[0][1]
            turns = turns[1:]
        roles = [r for r, _ in turns]
        if len(turns) < 2 or len(turns) % 2 or roles != ["user", "assistant"] * (len(turns) // 2):
            skip_or_raise(Problem(f"expected user/assistant turns in alternation ending with the assistant, got "
                                  f"{roles}", path_s, i, "messages"), report, strict=strict)  # fmt: skip
            continue
        texts = [t.replace(VIDEO_PLACEHOLDER, "").strip() for _, t in turns]
        pairs = list(zip(texts[0::2], texts[1::2]))
        (question, answer), history = pairs[-1], tuple(pairs[:-1])
        duration = item.get("duration") if isinstance(item.get("duration"), int | float) else None
        t = item.get("task", task)
        t = t if t in TASKS else infer_task(question, answer, fps=fps, num_bins=num_bins)
        targets, query = decode_answer(
            answer, t, question=question, duration=duration, fps=fps, num_bins=num_bins, clip_length=clip_length
        )
        yield (
            i,
            Record(
                video=relative_video(videos[0], video_root=video_root, strip_prefix=strip_prefix),
                task=t,
                prompt=question,
                targets=targets,
                duration=float(duration) if duration is not None else None,
                query=query,
                answer=answer,
                system=system,
                history=history,
                source=f"{path_s}:{i}" if path_s else str(i),
            ),
        )


def read_sharegpt(
    path: PathLike,
    *,
    video_root: PathLike | None = None,
    strip_prefix: str | None = None,
    task: str | None = None,
    fps: float | None = None,
    num_bins: int | None = None,
    clip_length: float = 2.0,
    strict: bool = False,
    fix: bool = True,
    check_video_files: bool = False,
) -> Loaded:
    """Read a sharegpt ``.json`` / ``.jsonl`` file into checked records (arguments as in
    :func:`vidllm.data.vtg_it.read_vtg_it`).

    Returns:
        ``Loaded(records, report)``.
    """
    report = LoadReport(str(path))
    pairs = iter_sharegpt_records(
        read_json_or_jsonl(path),
        path=path,
        video_root=video_root,
        strip_prefix=strip_prefix,
        task=task,
        fps=fps,
        num_bins=num_bins,
        clip_length=clip_length,
        report=report,
        strict=strict,
    )
    return finish_loading(pairs, report, strict=strict, fix=fix, check_video_files=check_video_files,
                          video_root=video_root)  # fmt: skip


def to_sharegpt_items(records: Iterable[Record], scheme: TimeScheme | str = "text") -> list[dict[str, Any]]:
    """LLaMA-Factory sharegpt items for ``records`` (answers written in ``scheme``; ``<video>`` starts the first
    user turn)."""
    scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
    items = []
    for r in records:
        messages = []
        for k, (user, assistant) in enumerate((*r.history, (r.prompt, render_answer(r, scheme)))):
            content = f"{VIDEO_PLACEHOLDER}{user}" if k == 0 else user
            messages += [{"role": "user", "content": content}, {"role": "assistant", "content": assistant}]
        item: dict[str, Any] = {"messages": messages, "videos": [r.video]}
        if r.system:
            item["system"] = r.system
        items.append(item)
    return items


def write_sharegpt(records: Iterable[Record], path: PathLike, scheme: TimeScheme | str = "text") -> Path:
    """Write records as a LLaMA-Factory sharegpt file; returns the path."""
    return write_json(to_sharegpt_items(records, scheme), path, indent=None)
