"""What an evaluation checks before it loads the model: inputs that would make every number wrong.

Without these, a ``--video_root`` that does not exist makes every sample "missing" and prints a table of zeros, and
a ``--prompt`` without ``<query_placeholder>`` asks every question without its query -- both exit 0. Each problem
is refused in one line (:class:`~vidllm.errors.UserError`), all of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vidllm.data.prompts import QUERY
from vidllm.errors import UserError
from vidllm.eval.video_loader import find_video

VIDEOS_CHECKED = 50
"""Distinct videos of the run whose presence is checked (the first ones in query order)."""


def check_inputs(cfg, queries: Sequence, out: Path) -> None:
    """Refuse a run that cannot give right numbers, before the model loads.

    Args:
        cfg: The :class:`~vidllm.eval.config.EvalConfig`.
        queries: The run's queries (:class:`~vidllm.eval.benchmarks.Query`).
        out: The output folder.

    Raises:
        UserError: Every problem found, in one line.
    """
    from vidllm.models.runtime import resolve_device

    problems = []
    root = Path(cfg.video_root)
    if not root.is_dir():
        what = "a file" if root.exists() else "not a folder"
        problems.append(f"--video_root {root} is {what}; pass the folder the benchmark's videos are in")
    else:
        videos = list(dict.fromkeys(q.video for q in queries))[:VIDEOS_CHECKED]
        if videos and not any(find_video(root, v).is_file() for v in videos):
            problems.append(
                f"none of the first {len(videos)} videos is under --video_root {root} (e.g. {root / videos[0]}); "
                "check --video_root and --video_template"
            )
    if cfg.prompt and QUERY not in cfg.prompt:
        asked = sorted({q.task for q in queries if getattr(q.entry, "query", None)})
        if asked:
            problems.append(
                f"--prompt {cfg.prompt[:60]!r} has no {QUERY}, so the model would never see the query of the "
                f"{'/'.join(asked)} questions; put {QUERY} where the query goes"
            )
    if out.exists() and not out.is_dir():
        problems.append(f"--output_dir {out} is a file; pass a folder for the samples and results")
    else:
        above = next((p for p in out.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            problems.append(f"--output_dir {out} is under the file {above}; pass a folder path")
    try:
        resolve_device(cfg.model.device)
    except ValueError as e:
        problems.append(str(e))
    if problems:
        raise UserError("evaluation cannot start: " + "; ".join(problems))
