"""The one load/save path of every family: a template whose family-specific steps are the adapter's hooks.

A folder written by :func:`save` holds, besides the processor (tokenizer with the time tokens):

* ``vidllm.json`` -- format version, family, the :class:`~vidllm.models.config.ModelConfig` and, for LoRA, the base
  model as the run can find it again: ``{"hub": "Qwen/Qwen2.5-VL-7B-Instruct", "revision": ...}`` for a Hub model
  (also when the base was loaded from a folder of the Hugging Face cache), else ``{"path": "../base"}``, relative to
  the run folder. No absolute path of the machine is written, so a run folder copied elsewhere (with its base, or
  with a Hub base) loads as it is; otherwise ``load(..., base=...)`` names the base.
* ``vidllm_modules.safetensors`` -- time embedding and slots;
* either the full model (``model.safetensors``, embeddings resized; the family hook may write its own format) or a
  peft LoRA adapter (``adapter_*``, with the time-token rows as trainable-token deltas).

Loading a base checkpoint adds the components fresh (new token rows from the scheme's init strings, zero time
embedding, slots from ``config.seed``); loading a saved folder rebuilds the same model and restores the trained
values, exactly. The hooks (see :class:`vidllm.models.base.VideoAdapterBase`): ``check_config``,
``load_processor``, ``load_base_model``, ``prepare_model``, ``time_token_sources``, ``build_layout``,
``build_modules``, ``attach_modules``, ``write_full_weights``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from vidllm.models.components.time_tokens import add_time_tokens, fit_embeddings, init_time_token_rows
from vidllm.models.components.video_hook import MODULE_NAME, attached, vidllm_state_dict
from vidllm.models.config import ModelConfig
from vidllm.models.hub import cached_repo_of, resolve_folder, split_hub_id
from vidllm.models.runtime import resolve_runtime

logger = logging.getLogger(__name__)

META_FILE = "vidllm.json"
MODULES_FILE = "vidllm_modules.safetensors"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # 1: the base of a LoRA run as an absolute "base_path"
RUNTIME_FIELDS = ("path", "device", "dtype", "attn_implementation")


def unwrap(model):
    """The Hugging Face model inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def inner_model(model):
    """The inner ``*VLModel`` (vision tower + language model) of a (peft-wrapped) ``*ForConditionalGeneration``."""
    return unwrap(model).model


def move_to(batch: dict, device: torch.device) -> dict:
    """Move every tensor of ``batch`` to ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def read_meta(path: str | Path) -> dict | None:
    """The ``vidllm.json`` of a saved folder, or ``None`` for a plain checkpoint."""
    meta_file = Path(path) / META_FILE
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    if meta.get("format") not in READABLE_FORMATS:
        raise ValueError(
            f"{meta_file} has format {meta.get('format')!r}; this vidllm reads formats {list(READABLE_FORMATS)}: "
            "upgrade vidllm to load it"
        )
    return meta


def is_lora_run(meta: dict | None) -> bool:
    """Whether a ``vidllm.json`` describes a LoRA run (weights = a base model + the adapter in the folder)."""
    return meta is not None and bool(meta.get("base") or meta.get("base_path"))


# ------------------------------------------------------------------------------------------------------ the base


def base_ref(name_or_path: str | Path) -> dict[str, str]:
    """How a base model was named: ``{"hub": id[, "revision": r]}`` or ``{"path": absolute local folder}``."""
    hub = split_hub_id(str(name_or_path))
    if hub is not None:
        return {"hub": hub[0], **({"revision": hub[1]} if hub[1] else {})}
    folder = Path(name_or_path).expanduser().resolve()
    cached = cached_repo_of(folder)
    if cached is not None:  # a snapshot of the HF cache: the id loads on any machine
        return {"hub": cached[0], "revision": cached[1]}
    return {"path": str(folder)}


def portable_base(ref: dict[str, str], out: Path) -> dict[str, str]:
    """``ref`` as a run folder ``out`` records it: Hub ids as they are, folders relative to ``out``."""
    if "hub" in ref:
        return dict(ref)
    return {"path": os.path.relpath(ref["path"], out.resolve())}


def run_base(folder: Path, meta: dict) -> dict[str, str]:
    """The base a LoRA run names, as a :func:`base_ref` (relative paths resolved against ``folder``)."""
    base = meta.get("base")
    if base is None:  # format 1
        return {"path": str(Path(meta["base_path"]).expanduser())}
    if "hub" in base:
        return dict(base)
    return {"path": str((folder / base["path"]).resolve())}


def resolve_base(ref: dict[str, str], *, run: Path | None = None) -> Path:
    """The local folder of a :func:`base_ref`.

    Raises:
        FileNotFoundError: Saying which run needs which base, and how to name another one.
    """
    if "hub" in ref:
        return resolve_folder(ref["hub"], revision=ref.get("revision"), what="base model")
    folder = Path(ref["path"])
    if not (folder / "config.json").is_file():
        who = f"{run} is a LoRA run whose base model " if run is not None else "base model "
        raise FileNotFoundError(
            f"{who}{folder} is not there (no config.json); pass the base checkpoint with base=... "
            "(--model_path / --base on the command line)"
        )
    return folder


def _check_folder(path: Path, example: str) -> None:
    if not path.is_dir():
        raise FileNotFoundError(
            f"model folder {str(path)!r} does not exist; set model.path to a local checkpoint folder "
            f"(e.g. a downloaded {example}) or a Hub id"
        )
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} has no config.json; expected a Hugging Face checkpoint folder ({example})")


# ----------------------------------------------------------------------------------------------------- the template


def load(adapter, path: str | Path | None = None, *, trainable: bool = False, base: str | Path | None = None) -> None:
    """Load a checkpoint folder or Hub id into ``adapter`` and add the configured components (see the module).

    Args:
        adapter: A :class:`~vidllm.models.base.VideoAdapterBase`; its ``config`` gives the runtime (and, for a
            base checkpoint, the components). Sets its ``config``, ``model``, ``processor``, ``layout``,
            ``time_token_ids``, ``base`` and ``base_path``.
        path: Folder or Hub id to load (default ``adapter.config.path``).
        trainable: For a saved LoRA folder, keep the adapter trainable (resuming training).
        base: For a LoRA run, the base model to load it over instead of the one the run names.
    """
    config: ModelConfig = copy.deepcopy(adapter.config)  # the caller's object stays as it was
    source = str(path or config.path)
    if not source:
        raise ValueError(f"{adapter.name}: no model to load; set model.path to a checkpoint folder or a Hub id")
    if split_hub_id(source) is None and not Path(source).expanduser().exists():
        _check_folder(Path(source).expanduser(), adapter.example_checkpoint)
    folder = resolve_folder(source)
    meta = read_meta(folder)
    lora = is_lora_run(meta)
    ref = base_ref(source)
    base_folder = folder
    if meta is not None:
        if meta["family"] != adapter.name:
            raise ValueError(
                f"{folder} was saved by the {meta['family']!r} adapter, not {adapter.name!r}; use that family"
            )
        saved = ModelConfig.from_dict(meta["config"])
        for name in RUNTIME_FIELDS:
            setattr(saved, name, getattr(config, name))
        config = saved
        if lora:
            ref = base_ref(base) if base is not None else run_base(folder, meta)
            base_folder = resolve_base(ref, run=folder)
    if base is not None and not lora:
        raise ValueError(f"base={base!r} was given but {folder} is not a LoRA run folder; load it without base")
    config.path = source
    adapter.check_config(config)
    _check_folder(base_folder, adapter.example_checkpoint)
    runtime = resolve_runtime(config.device, config.dtype, config.attn_implementation)
    processor = adapter.load_processor(folder)
    model = adapter.load_base_model(base_folder, runtime, processor)
    adapter.prepare_model(model, processor, config)
    tokenizer = processor.tokenizer
    token_ids: list[int] = []
    if config.time.time_tokens:
        scheme = config.time.make_scheme(fps=1.0)
        token_ids, added = add_time_tokens(tokenizer, scheme)
        fit_embeddings(model, len(tokenizer))
        if added or lora:  # a full save already holds trained rows
            init_time_token_rows(model, adapter.time_token_sources(tokenizer, scheme))
    layout = adapter.build_layout(config)
    modules = adapter.build_modules(config, layout, model)
    adapter.attach_modules(model, modules)
    if meta is not None:
        modules.load_state_dict(load_file(str(folder / MODULES_FILE), device=str(runtime.device)), strict=True)
    if lora:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(folder), is_trainable=trainable)
        if trainable:
            attached(model).requires_grad_(True)
    model.eval()
    adapter.config, adapter.model, adapter.processor, adapter.layout = config, model, processor, layout
    adapter.time_token_ids, adapter.base, adapter.base_path = token_ids, ref, base_folder.resolve()


def save(adapter, out_dir: str | Path, *, state_dict: dict | None = None) -> Path:
    """Write everything needed to rebuild ``adapter`` exactly (see the module docstring).

    Args:
        adapter: A loaded adapter.
        out_dir: Folder to write (created).
        state_dict: The model's state, when the parameters themselves are sharded (DeepSpeed ZeRO-3 gathers it
            for saving); default ``model.state_dict()``.

    Returns:
        The folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    adapter.processor.save_pretrained(out)
    model = adapter.model
    meta: dict[str, Any] = {"format": FORMAT_VERSION, "family": adapter.name, "config": adapter.config.to_dict()}
    marker = f".{MODULE_NAME}."
    if hasattr(model, "peft_config"):
        given = {"state_dict": state_dict} if state_dict is not None else {}
        model.save_pretrained(out, save_embedding_layers=False, **given)
        meta["base"] = portable_base(adapter.base, out)
    else:
        full = state_dict if state_dict is not None else model.state_dict()
        adapter.write_full_weights(model, out, {k: v for k, v in full.items() if marker not in f".{k}"})
    modules = vidllm_state_dict(model)
    if state_dict is not None:  # the gathered values win over the (possibly sharded) module's own
        gathered = {f".{k}".split(marker, 1)[1]: v for k, v in state_dict.items() if marker in f".{k}"}
        modules.update({k: v.detach().cpu() for k, v in gathered.items()})
    save_file(modules, str(out / MODULES_FILE))
    meta["config"]["path"] = "."  # this folder; the loader sets the path it was given
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    logger.info("saved %s model to %s", adapter.name, out)
    return out
