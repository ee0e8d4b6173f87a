"""Checkpoints a killed run can always resume from: written atomically, checked before use, settings compared.

* **Atomic saves.** :class:`~vidllm.train.trainer.VidllmTrainer` writes ``checkpoint-N`` into
  ``<output_dir>/.saving/checkpoint-N`` and renames it into the run folder only when every file is written
  (:func:`publish`), so a kill during a save leaves no half-written ``checkpoint-N`` behind -- only a staging folder,
  which the next save replaces.
* **Complete or skipped.** :func:`checkpoint_problem` says why a folder cannot be resumed from (no
  ``trainer_state.json``, no weights, a truncated safetensors or ``optimizer.pt``); :func:`newest_complete` takes the
  newest complete ``checkpoint-N`` and lists the ones it skipped (folders written before saves were atomic, or
  damaged afterwards), so the recipe can resume from the one before and say which folder it passed over.
* **Same settings.** Resuming restores the optimizer, schedule, data order and the shapes of what trains, so a
  changed LoRA rank or time component cannot load and a changed learning rate would be silently ignored.
  :func:`settings_changes` compares the ``train_config.yaml`` saved in the checkpoint with the new config;
  :func:`check_resume_settings` refuses every change except :data:`RESUMABLE` ones, naming the fields.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from vidllm.errors import UserError

logger = logging.getLogger(__name__)

PREFIX = "checkpoint"
STAGING_DIR = ".saving"
"""Folder inside the run folder where a checkpoint is written before it is renamed into place."""

TRAINER_STATE = "trainer_state.json"
WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json")

RESUMABLE: Mapping[str, str] = {
    "resume": "",
    "checkpoint.resume_from": "",
    "checkpoint.output_dir": "where new checkpoints go",
    "checkpoint.save_steps": "how often later checkpoints are written",
    "checkpoint.save_total_limit": "how many are kept",
    "optim.max_steps": "the run continues to the new last step (a decaying schedule is stretched to it)",
    "optim.epochs": "as optim.max_steps",
    "data.num_workers": "how many processes read the data",
    "data.use_arrow": "how the same records are cached",
    "data.cache_dir": "where the same records are cached",
    "data.video_root": "where the same videos are",
    "data.allow_outside_root": "whether the same video paths may lead outside the root",
    "model.path": "where the same base checkpoint is (a warning says so: it must hold the same weights)",
    "model.device": "where the model runs",
    "model.attn_implementation": "how attention is computed",
    "logging.*": "log lines and trackers",
    "evaluation.*": "what later evaluations during training measure",
}
"""Settings a resumed run may change (dotted field -> what the change does); ``x.*`` covers a whole section."""

_WARN_ON_CHANGE = ("model.path",)


# ---------------------------------------------------------------------------------------------- completeness


def checkpoint_step(folder: Path) -> int | None:
    """``N`` of a ``checkpoint-N`` folder name, else ``None``."""
    head, _, step = folder.name.partition("-")
    return int(step) if head == PREFIX and step.isdigit() else None


def safetensors_problem(path: Path) -> str | None:
    """Why a safetensors file is unusable (empty, truncated, unreadable header), or ``None`` when it is whole.

    Only the header is read: its tensor offsets say how long the file must be.
    """
    size = path.stat().st_size
    if size < 8:
        return f"{path.name} is empty or cut off ({size} bytes)"
    with path.open("rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if 8 + header_len > size:
            return f"{path.name} is cut off ({size} bytes, its header alone needs {8 + header_len})"
        try:
            header = json.loads(f.read(header_len))
        except ValueError:
            return f"{path.name} has an unreadable header"
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and "data_offsets" in v]
    need = 8 + header_len + max(ends, default=0)
    if size < need:
        return f"{path.name} is cut off ({size} of {need} bytes)"
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from, or ``None`` when it is a complete checkpoint.

    Complete: ``trainer_state.json`` (written last by the trainer) readable, vidllm's ``vidllm.json``, model weights
    whose safetensors files are whole, and the optimizer state (``optimizer.pt`` or DeepSpeed's ``latest``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return "not a folder"
    state = folder / TRAINER_STATE
    if not state.is_file():
        return f"no {TRAINER_STATE}"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return f"{TRAINER_STATE} is cut off or not JSON"
    if not (folder / "vidllm.json").is_file():
        return "no vidllm.json"
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return "no model weights (adapter_model.safetensors / model.safetensors)"
    for path in sorted(folder.glob("*.safetensors")):
        problem = safetensors_problem(path)
        if problem:
            return problem
    optimizer = folder / "optimizer.pt"
    if optimizer.is_file():
        if not zipfile.is_zipfile(optimizer):
            return "optimizer.pt is cut off"
    elif not (folder / "latest").is_file():
        return "no optimizer state (optimizer.pt, or DeepSpeed's latest)"
    return None


def checkpoints(run_dir: Path) -> list[Path]:
    """The ``checkpoint-N`` folders of a run folder, newest (highest ``N``) first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=checkpoint_step, reverse=True)


def newest_complete(run_dir: Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest complete checkpoint of ``run_dir`` and the newer ones skipped, each with the reason."""
    skipped = []
    for folder in checkpoints(run_dir):
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder, skipped
        skipped.append((folder, problem))
    return None, skipped


def publish(staged: Path, final: Path) -> None:
    """Move a fully written checkpoint from the staging folder to its place (an older folder there is replaced).

    The rename is atomic on one file system; an old folder of the same name (a damaged one from before) is moved
    aside first and deleted after, so at no moment is a half-written folder visible under the final name.
    """
    old = None
    if final.exists():
        old = staged.with_name(staged.name + ".replaced")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------------- settings


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, Mapping) or not data:
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _resumable(key: str) -> bool:
    return key in RESUMABLE or any(k.endswith(".*") and key.startswith(k[:-1]) for k in RESUMABLE)


def settings_changes(saved: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Dotted fields whose value differs between two configs as plain data (fields one side lacks are ignored:
    a field added to vidllm since the checkpoint was written)."""
    old, cur = _flatten(saved), _flatten(new)
    return {k: (old[k], cur[k]) for k in old if k in cur and old[k] != cur[k]}


def check_resume_settings(checkpoint: Path, config: Any) -> None:
    """Refuse to resume ``checkpoint`` with settings it was not trained with, except :data:`RESUMABLE` ones.

    Args:
        checkpoint: The ``checkpoint-N`` folder (its ``train_config.yaml`` is the run's config).
        config: The new :class:`~vidllm.train.config.TrainConfig`.

    Raises:
        UserError: Naming every changed field that resume cannot honour, and what may change.
    """
    from vidllm.config import to_dict
    from vidllm.train.trainer import TRAIN_CONFIG_FILE

    saved_file = Path(checkpoint) / TRAIN_CONFIG_FILE
    if not saved_file.is_file():
        logger.warning("%s has no %s; the settings of the resumed run cannot be checked", checkpoint,
                       TRAIN_CONFIG_FILE)  # fmt: skip
        return
    saved = yaml.safe_load(saved_file.read_text(encoding="utf-8")) or {}
    changes = settings_changes(saved, to_dict(config))
    refused = {k: v for k, v in changes.items() if not _resumable(k)}
    if refused:
        listed = ", ".join(f"{k} ({old!r} -> {new!r})" for k, (old, new) in refused.items())
        allowed = ", ".join(k for k in RESUMABLE if RESUMABLE[k])
        raise UserError(
            f"cannot resume {checkpoint} with changed settings: {listed}; resume restores the optimizer, schedule "
            f"and trained shapes of that run. Set them back, or start a new run (another checkpoint.output_dir). "
            f"Resume can honour changes of: {allowed}"
        )
    for key, (old, new) in changes.items():
        note = RESUMABLE.get(key) or RESUMABLE.get(key.split(".")[0] + ".*", "")
        level = logging.WARNING if key in _WARN_ON_CHANGE else logging.INFO
        if note:
            logger.log(level, "resuming with %s changed (%r -> %r): %s", key, old, new, note)
