"""What a training run checks before it loads the model (minutes for a 7B model under torchrun).

Two passes, each reporting every problem it finds in one line (a :class:`~vidllm.errors.UserError`):

1. :func:`check_paths` -- before anything is read: the model folder, the run folder (not a file), every data file
   (exists, is a file, readable) and ``data.video_root`` (an existing folder).
2. :func:`check_records` -- on the loaded records, still before the model: are the videos there (none found means
   a wrong ``data.video_root``), do paths lead outside the root (refused unless ``data.allow_outside_root``), and is
   ``data.max_length`` long enough for the questions themselves (their tokens alone, with the model's tokenizer).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

from vidllm.data.records import Record
from vidllm.data.validate import outside_root
from vidllm.errors import UserError

logger = logging.getLogger(__name__)

MAX_VIDEOS_CHECKED = 2000
"""Distinct videos whose presence is checked before training (the first ones in record order); every video path
is checked for leading outside the root."""
MAX_RECORDS_TOKENIZED = 64
"""Records whose question is tokenized to check ``data.max_length``."""


def _fail(problems: Sequence[str]) -> None:
    if problems:
        raise UserError("training cannot start: " + "; ".join(problems))


def check_paths(cfg) -> None:
    """The paths of a :class:`~vidllm.train.config.TrainConfig` that must exist before anything loads.

    Raises:
        UserError: Every problem found, in one line.
    """
    from vidllm.models.hub import resolve_folder, split_hub_id

    problems = []
    model = Path(cfg.model.path).expanduser()
    if not model.is_dir() and split_hub_id(cfg.model.path) is not None:  # a Hub id: its snapshot in the HF cache
        try:
            model = resolve_folder(cfg.model.path, what="model.path")
        except FileNotFoundError as e:
            problems.append(str(e))
    if not problems and not model.is_dir():
        problems.append(f"model.path={model} is not a folder; set it to a local checkpoint folder or a Hub id")
    elif not problems and (model / "vidllm.json").is_file():  # a folder saved by vidllm (a LoRA run names its base)
        base = _saved_base(model)
        if base is not None and not (base / "config.json").is_file():
            problems.append(f"model.path={model} was trained on {base}, which is not a checkpoint folder here")
    elif not problems and not (model / "config.json").is_file():
        problems.append(f"model.path={model} has no config.json; expected a Hugging Face checkpoint folder")
    out = Path(cfg.checkpoint.output_dir)
    if out.exists() and not out.is_dir():
        problems.append(f"checkpoint.output_dir={out} is a file; expected a folder for the run (choose another path)")
    else:
        parent = next((p for p in [out, *out.parents] if p.exists()), None)
        if parent is not None and not parent.is_dir():
            problems.append(f"checkpoint.output_dir={out} is under the file {parent}; choose a folder path")
        elif parent is not None and not os.access(parent, os.W_OK):
            problems.append(f"checkpoint.output_dir={out}: {parent} is not writable; choose a folder you can write")
    if cfg.data.synthetic is None:
        for i, name in enumerate(cfg.data.files):
            path = Path(name)
            if path.is_dir():
                problems.append(f"data.files[{i}]={path} is a folder; expected an instruction file (json / jsonl)")
            elif not path.is_file():
                problems.append(f"data.files[{i}]={path}: no such file")
            elif not os.access(path, os.R_OK):
                problems.append(f"data.files[{i}]={path} cannot be read (permission denied)")
        root = cfg.data.video_root
        if root is not None and not Path(root).is_dir():
            problems.append(
                f"data.video_root={root} is not a folder; set it to the folder the records' video paths are "
                "relative to"
            )
    _fail(problems)


def _saved_base(folder: Path) -> Path | None:
    """The base checkpoint a vidllm LoRA folder names in its ``vidllm.json`` (``None`` for a full save)."""
    import json

    try:
        base = json.loads((folder / "vidllm.json").read_text(encoding="utf-8")).get("base_path")
    except (OSError, ValueError):
        return None
    return Path(base) if base else None


def check_records(cfg, records: Sequence[Record]) -> None:
    """Checks on the loaded records that need no model: videos present, inside the root, questions fitting.

    Raises:
        UserError: Every problem found, in one line.
    """
    problems = []
    d = cfg.data
    videos = list(dict.fromkeys(_videos(records)))
    if d.video_root is not None and videos:
        outside = {v for v in videos if outside_root(d.video_root, v)}
        if outside and not d.allow_outside_root:
            example = next(v for v in videos if v in outside)
            problems.append(
                f"{len(outside)} of {len(videos)} video paths lead outside data.video_root={d.video_root} "
                f"(absolute, '..' or symlinked, e.g. {example!r}); move the videos under the root, or set "
                "data.allow_outside_root=true"
            )
        inside = [v for v in videos if v not in outside][:MAX_VIDEOS_CHECKED]
        present = sum((Path(d.video_root) / v).is_file() for v in inside)
        if inside and present == 0:
            problems.append(
                f"none of the first {len(inside)} videos is under data.video_root={d.video_root} (e.g. "
                f"{Path(d.video_root) / inside[0]}); set data.video_root to the folder their paths are relative to"
            )
        elif present < len(inside):
            logger.warning("%d of the first %d videos are missing under %s; their records will be skipped",
                           len(inside) - present, len(inside), d.video_root)  # fmt: skip
    elif d.video_root is None and videos and not any(Path(v).is_file() for v in videos[:MAX_VIDEOS_CHECKED]):
        shown = min(len(videos), MAX_VIDEOS_CHECKED)
        problems.append(f"none of the first {shown} videos exists (e.g. {videos[0]!r}); set data.video_root")
    problem = _max_length_problem(cfg, records)
    if problem:
        problems.append(problem)
    _fail(problems)


def _first(records: Sequence[Record], n: int) -> list[Record]:
    return [records[i] for i in range(min(n, len(records)))]


def _videos(records: Sequence[Record]):
    """Every record's video path, read from the Arrow column when the records are memory-mapped."""
    parts = getattr(records, "parts", None)  # ConcatRecords
    if parts is not None:
        for part in parts:
            yield from _videos(part)
        return
    dataset = getattr(records, "dataset", None)  # ArrowRecords
    column = dataset["video"] if dataset is not None and "video" in getattr(dataset, "column_names", ()) else None
    yield from (v for v in (column if column is not None else (r.video for r in records)) if v)


def _max_length_problem(cfg, records: Sequence[Record]) -> str | None:
    """A problem when not one of the first records fits ``data.max_length`` even with its question alone.

    The bound is low on purpose (question tokens + one visual token per two ``min_frames`` frames, no answer, no
    template), so it never refuses a length that could work; longer cases are skipped per record by the dataset.
    """
    try:
        from transformers import AutoTokenizer

        from vidllm.models.hub import resolve_folder

        tokenizer = AutoTokenizer.from_pretrained(resolve_folder(cfg.model.path))  # a Hub id: its cached snapshot
    except Exception as e:  # the model load reports an unreadable tokenizer properly
        logger.debug("no tokenizer for the max_length check: %s", e)
        return None
    sample = _first(records, MAX_RECORDS_TOKENIZED)
    if not sample:
        return None
    visual = math.ceil(cfg.data.min_frames / 2) if any(r.video for r in sample) else 0
    need = [len(tokenizer(r.prompt, add_special_tokens=False)["input_ids"]) + visual for r in sample]
    if min(need) > cfg.data.max_length:
        return (
            f"data.max_length={cfg.data.max_length} is shorter than every one of the first {len(sample)} samples "
            f"(the shortest needs at least {min(need)} tokens for its question and {cfg.data.min_frames} frames, "
            "before the answer); raise data.max_length (e.g. 8192)"
        )
    return None
