"""Question templates: named sets (``timechat``, ``vtgllm``, ``numpro``) of phrasings per task, and eval prompts.

The templates are package data in ``vidllm/assets/prompts/`` (the checkout's ``annotation/`` points there; its
``README.md`` names the source of each): ``prompt_sets.json`` maps ``set -> task -> file``, each file holds
``{"0": template, "1": ...}``, and ``eval_prompts.json`` holds one evaluation prompt per set and task.

>>> import random
>>> rng = random.Random(0)
>>> sample_prompt("vtgllm", "mr", rng, query="person opens a door")[:44]
"Using the text query 'person opens a door', "

Picking is deterministic: the caller passes a seeded :class:`random.Random` and gets the same sequence of phrasings
for the same records in the same order.
"""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path

from vidllm.assets import asset_dir
from vidllm.io import DataError, read_json

QUERY = "<query_placeholder>"
DATASET = "<dataset_placeholder>"

ANNOTATION_DIR = Path(os.environ.get("VIDLLM_ANNOTATION_DIR") or asset_dir("prompts"))
"""Where the template files are: the package's ``assets/prompts`` (set ``VIDLLM_ANNOTATION_DIR`` to use others)."""


def _dir(directory: str | os.PathLike | None) -> Path:
    return Path(directory) if directory is not None else ANNOTATION_DIR


@functools.lru_cache(maxsize=64)
def _read(path: Path):
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such template file; the templates ship in the vidllm package (assets/prompts); "
            "check VIDLLM_ANNOTATION_DIR if it is set"
        )
    return read_json(path)


def prompt_sets(directory: str | os.PathLike | None = None) -> dict[str, dict[str, str]]:
    """The named template sets: ``{set: {task: file name}}``."""
    return _read(_dir(directory) / "prompt_sets.json")


def templates(set_name: str, task: str, *, directory: str | os.PathLike | None = None) -> list[str]:
    """The phrasings of ``task`` in the set ``set_name``, in file order.

    Raises:
        ValueError: Unknown set, or a task the set has no templates for (the message lists what exists).
    """
    sets = prompt_sets(directory)
    if set_name not in sets:
        raise ValueError(f"unknown prompt set {set_name!r}; valid sets: {', '.join(sorted(sets))}")
    if task not in sets[set_name]:
        raise ValueError(
            f"the prompt set {set_name!r} has no {task!r} templates (it has: {', '.join(sets[set_name])}); "
            f"sets with {task!r}: {', '.join(s for s, t in sets.items() if task in t) or 'none'}"
        )
    path = _dir(directory) / sets[set_name][task]
    data = _read(path)
    if not isinstance(data, dict) or not data or not all(isinstance(v, str) for v in data.values()):
        raise DataError('expected {"0": "template", "1": ...}', path=path)
    return [data[k] for k in sorted(data, key=lambda k: int(k) if k.isdigit() else k)]


def fill(template: str, *, query: str | None = None, dataset: str | None = None) -> str:
    """Put ``query`` (without its final period) and ``dataset`` into a template.

    Raises:
        ValueError: The template has a placeholder and no value was given for it.
    """
    text = template
    if QUERY in text:
        if not query:
            raise ValueError(f"the template needs a query: {template[:80]!r}")
        text = text.replace(QUERY, query.strip().rstrip(".").strip())
    if DATASET in text:
        if not dataset:
            raise ValueError(f"the template needs a dataset name: {template[:80]!r}")
        text = text.replace(DATASET, dataset)
    return text


def sample_prompt(
    set_name: str,
    task: str,
    rng: random.Random,
    *,
    query: str | None = None,
    dataset: str | None = None,
    directory: str | os.PathLike | None = None,
) -> str:
    """One phrasing of ``task`` from ``set_name``, chosen by ``rng``, filled in (see :func:`fill`)."""
    return fill(rng.choice(templates(set_name, task, directory=directory)), query=query, dataset=dataset)


def eval_prompt(
    set_name: str,
    task: str,
    *,
    query: str | None = None,
    dataset: str | None = None,
    directory: str | os.PathLike | None = None,
) -> str:
    """The evaluation prompt of a set (``timechat``, ``timechat_finetuned``, ``vtgllm``, ``numpro``, ``numpro_ft``).

    A dataset-specific prompt (key ``"task:dataset"``, e.g. ``dvc:activitynet``) is taken over the task's own.

    Raises:
        ValueError: Unknown set or task (the message lists what exists).
    """
    prompts = _read(_dir(directory) / "eval_prompts.json")
    if set_name not in prompts:
        raise ValueError(f"unknown eval prompt set {set_name!r}; valid sets: {', '.join(sorted(prompts))}")
    entry = prompts[set_name]
    key = f"{task}:{dataset.lower()}" if dataset else task
    template = entry.get(key, entry.get(task))
    if template is None:
        raise ValueError(f"the eval prompt set {set_name!r} has no {task!r} prompt (it has: {', '.join(entry)})")
    return fill(template, query=query, dataset=dataset)
