"""Data files that ship inside the package, found with :mod:`importlib.resources` (no checkout needed).

* ``prompts/`` -- instruction and evaluation templates (:mod:`vidllm.data.prompts`); the checkout's ``annotation/``
  is a link to it.
* ``eval_configs/`` -- one YAML per benchmark (``--dataset NAME`` picks ``NAME.yaml``); the checkout's
  ``eval_configs/`` is a link to it.
* ``deepspeed/`` -- the ZeRO-2/3 (and offload) presets that ``train.deepspeed: zero2`` names; the checkout's
  ``configs/deepspeed/`` is a link to it.

One copy of each, so editing the file in the checkout edits what the package reads.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ASSET_KINDS = ("prompts", "eval_configs", "deepspeed")


def asset_dir(kind: str) -> Path:
    """The folder of one kind of shipped data file.

    Raises:
        ValueError: For an unknown kind (the message lists the valid ones).
    """
    if kind not in ASSET_KINDS:
        raise ValueError(f"unknown asset folder {kind!r}; valid: {', '.join(ASSET_KINDS)}")
    return Path(str(files("vidllm").joinpath("assets", kind)))
