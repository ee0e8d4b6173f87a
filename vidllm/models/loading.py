"""One loader for training, evaluation, the demo and export: a Hub id, a local checkpoint folder or a vidllm run.

>>> from vidllm.models import from_pretrained
>>> adapter = from_pretrained("Qwen/Qwen2.5-VL-7B-Instruct", device="cuda")          # doctest: +SKIP
>>> adapter = from_pretrained("runs/vtgllm")              # LoRA run: its base and components come with it
>>> adapter = from_pretrained("runs/vtgllm", base="/models/Qwen2.5-VL-7B-Instruct")  # over another copy of the base

Hub ids go through ``huggingface_hub``'s cache (:mod:`vidllm.models.hub`; ``HF_HUB_OFFLINE=1`` reads the cache only).
The family comes from the folder: ``vidllm.json`` for a run, else ``config.json``'s ``model_type`` (``qwen2_vl``,
``qwen2_5_vl``, ``qwen3_vl``, LongVA's ``llava_qwen``, ``videollama``), else the config's ``family``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from vidllm.models.checkpoint import read_meta
from vidllm.models.config import ModelConfig
from vidllm.models.hub import resolve_folder, split_hub_id
from vidllm.models.registry import MODELS, get_adapter

logger = logging.getLogger(__name__)


def family_of_folder(folder: str | Path) -> str | None:
    """The family a local folder was saved by (``vidllm.json``) or is a checkpoint of (``config.json``'s
    ``model_type``), or ``None`` when neither tells."""
    folder = Path(folder)
    meta = read_meta(folder) if folder.is_dir() else None
    if meta is not None:
        return meta["family"]
    config_file = folder / "config.json"
    if not config_file.is_file():
        return None
    try:
        model_type = json.loads(config_file.read_text()).get("model_type")
    except ValueError:
        return None
    if model_type in MODELS:
        return model_type
    for name, adapter in MODELS.items():  # checkpoints whose model_type is not a family name (llava_qwen)
        if model_type in getattr(adapter, "model_types", ()):
            return name
    return None


def detect_family(name_or_path: str | Path | None, default: str | None = None) -> str | None:
    """The family of a folder or Hub id (resolved through the cache), else ``default``."""
    if not name_or_path:
        return default
    path = Path(str(name_or_path)).expanduser()
    if not path.is_dir():
        if split_hub_id(str(name_or_path)) is None:
            return default
        try:
            path = resolve_folder(name_or_path)
        except FileNotFoundError:
            return default
    return family_of_folder(path) or default


def _with_overrides(config: ModelConfig | None, overrides: dict[str, Any]) -> ModelConfig:
    config = copy.deepcopy(config) if config is not None else ModelConfig()
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        valid = ", ".join(sorted(fields))
        raise TypeError(f"from_pretrained got unknown ModelConfig fields {unknown}; valid: {valid}")
    return dataclasses.replace(config, **overrides)


def from_pretrained(
    name_or_path: str | Path,
    *,
    base: str | Path | None = None,
    family: str | None = None,
    config: ModelConfig | None = None,
    trainable: bool = False,
    **overrides: Any,
):
    """Load a model with its time components: a Hub id, a local checkpoint folder, or a folder vidllm saved.

    Args:
        name_or_path: Hub id (``Qwen/Qwen2.5-VL-7B-Instruct``, ``owner/name@revision``), checkpoint folder, or a
            run folder written by ``adapter.save`` (a LoRA run loads its base, named in its ``vidllm.json``).
        base: For a LoRA run, load it over this base (folder or Hub id) instead of the one it names.
        family: The adapter family (default: detected from the folder, else ``config.family``).
        config: Runtime and, for a base checkpoint, the time components (default: a plain :class:`ModelConfig`).
        trainable: Keep a saved LoRA adapter trainable (resuming training).
        **overrides: :class:`ModelConfig` fields (``device="cuda"``, ``dtype="bfloat16"``, ``time=TimeConfig(...)``).

    Returns:
        The loaded adapter (:class:`vidllm.models.VideoLLMAdapter`).

    Raises:
        FileNotFoundError: Neither a folder nor a Hub id that resolves; a run's base is missing.
        ValueError: An unknown family (the message lists the valid ones).
    """
    config = _with_overrides(config, overrides)
    detected = detect_family(name_or_path)
    chosen = family or detected or config.family
    if detected and chosen != detected:
        logger.warning("%s is a %s checkpoint; loading it with the %s adapter as asked", name_or_path, detected,
                       chosen)  # fmt: skip
    config = dataclasses.replace(config, family=chosen, path=str(name_or_path))
    return get_adapter(chosen)(config).load(trainable=trainable, base=base)


def load_model(config: ModelConfig, *, trainable: bool = False, base: str | Path | None = None):
    """Build the adapter of the family of ``config.path`` (detected, else ``config.family``) and load it.

    Args:
        config: The model configuration; ``config.path`` is a folder, a Hub id or a run folder.
        trainable: Keep a saved LoRA adapter trainable.
        base: For a LoRA run, the base model to load it over instead of the one the run names.
    """
    detected = detect_family(config.path)
    if detected and detected != config.family:
        logger.info("%s is a %s checkpoint (model.family=%s ignored)", config.path, detected, config.family)
    family = detected or config.family
    return get_adapter(family)(dataclasses.replace(config, family=family)).load(trainable=trainable, base=base)
