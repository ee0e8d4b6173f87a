"""Load a Qwen-VL checkpoint with the configured components, and save everything vidllm adds.

A folder written by :func:`save` holds, besides the processor (tokenizer with the time tokens):

* ``vidllm.json`` -- format version, family, the :class:`~vidllm.models.config.ModelConfig` and, for LoRA, the base
  checkpoint folder;
* ``vidllm_modules.safetensors`` -- time embedding and slots;
* either the full model (``model.safetensors``, embeddings resized) or a peft LoRA adapter (``adapter_*``, with the
  time-token rows as trainable-token deltas).

Loading a base checkpoint adds the components fresh (new token rows from the digits, zero time embedding, slots
from ``config.seed``); loading a saved folder rebuilds the same model and restores the trained values, exactly.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from vidllm.models.builders import build_layout, build_video_modules
from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.time_tokens import add_time_tokens, fit_embeddings, init_rows_from, init_time_token_rows
from vidllm.models.components.video_hook import MODULE_NAME, attach, attached, vidllm_state_dict
from vidllm.models.config import ModelConfig
from vidllm.models.runtime import resolve_runtime

logger = logging.getLogger(__name__)

META_FILE = "vidllm.json"
MODULES_FILE = "vidllm_modules.safetensors"
FORMAT_VERSION = 1
RUNTIME_FIELDS = ("path", "device", "dtype", "attn_implementation")


@dataclass
class Loaded:
    """What loading produces.

    Attributes:
        model: The Hugging Face model (peft-wrapped for a saved LoRA folder).
        processor: The checkpoint's processor, with the time tokens in its tokenizer.
        config: The effective configuration (components of a saved folder win over the caller's).
        layout: Prompt layout of videos.
        time_token_ids: Ids of the scheme's time tokens (empty without time tokens).
        base_path: Folder of the base weights (for LoRA saves).
    """

    model: Any
    processor: Any
    config: ModelConfig
    layout: VideoLayout
    time_token_ids: list[int] = field(default_factory=list)
    base_path: Path | None = None


def unwrap(model):
    """The Hugging Face model inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def inner_model(model):
    """The inner ``*VLModel`` (vision tower + language model) of a (peft-wrapped) ``*ForConditionalGeneration``."""
    return unwrap(model).model


def read_meta(path: Path) -> dict | None:
    """The ``vidllm.json`` of a saved folder, or ``None`` for a plain checkpoint."""
    meta_file = Path(path) / META_FILE
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{meta_file} has format {meta.get('format')!r}; this vidllm reads format {FORMAT_VERSION}")
    return meta


def _check_folder(path: Path) -> None:
    if not path.is_dir():
        raise FileNotFoundError(
            f"model folder {str(path)!r} does not exist; set model.path to a local checkpoint folder "
            "(e.g. a downloaded Qwen2.5-VL-7B-Instruct)"
        )
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} has no config.json; expected a Hugging Face checkpoint folder")


def load(
    model_class,
    config: ModelConfig,
    path: str | Path | None = None,
    *,
    family: str,
    native_frame_text: bool,
    absolute_time: bool,
    trainable: bool = False,
) -> Loaded:
    """Load a checkpoint folder and add the configured components.

    Args:
        model_class: The family's ``*ForConditionalGeneration`` class.
        config: Configuration; for a saved folder only its runtime fields (``device``, ``dtype``,
            ``attn_implementation``) are used, the components come from the folder.
        path: Folder to load (default ``config.path``).
        family: Adapter name (checked against a saved folder's).
        native_frame_text: The family writes frame times natively (Qwen3-VL).
        absolute_time: Temporal positions follow ``second_per_grid_ts`` (Qwen2.5-VL).
        trainable: For a saved LoRA folder, keep the adapter trainable (resuming training).

    Returns:
        The loaded model and processor with what vidllm added.
    """
    config = copy.deepcopy(config)  # the caller's object stays as it was
    path = Path(path or config.path).expanduser()
    meta = read_meta(path)
    base_path = path
    if meta is not None:
        if meta["family"] != family:
            raise ValueError(f"{path} was saved by the {meta['family']!r} adapter, not {family!r}; use that family")
        saved = ModelConfig.from_dict(meta["config"])
        for name in RUNTIME_FIELDS:
            setattr(saved, name, getattr(config, name))
        config = saved
        if meta.get("base_path"):
            base_path = Path(meta["base_path"])
    config.path = str(path)
    _check_folder(base_path)
    runtime = resolve_runtime(config.device, config.dtype, config.attn_implementation)
    from transformers import AutoProcessor  # pulls in torchvision: only when loading

    processor = AutoProcessor.from_pretrained(path)
    extra = {"device_map": {"": runtime.device}} if runtime.device.type != "cpu" else {}
    model = model_class.from_pretrained(
        base_path, dtype=runtime.dtype, attn_implementation=runtime.attn_implementation, **extra
    )
    token_ids: list[int] = []
    lora_folder = meta is not None and meta.get("base_path") is not None
    if config.time.time_tokens:
        scheme = config.time.make_scheme(fps=1.0)
        token_ids, added = add_time_tokens(processor.tokenizer, scheme)
        fit_embeddings(model, len(processor.tokenizer))
        if added or lora_folder:  # a full save already holds trained rows
            init_time_token_rows(model, init_rows_from(processor.tokenizer, scheme))
    layout = build_layout(config, native_frame_text=native_frame_text)
    modules = build_video_modules(
        config, layout, hidden_size=model.config.text_config.hidden_size, absolute_time=absolute_time
    )
    attach(model, modules)
    if meta is not None:
        state = load_file(str(path / MODULES_FILE), device=str(runtime.device))
        modules.load_state_dict(state, strict=True)
    if lora_folder:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path), is_trainable=trainable)
        if trainable:
            attached(model).requires_grad_(True)
    model.eval()
    return Loaded(model, processor, config, layout, token_ids, base_path.resolve())


def save(loaded: Loaded, out_dir: str | Path, *, family: str, state_dict: dict | None = None) -> Path:
    """Write everything needed to rebuild ``loaded`` exactly (see the module docstring).

    Args:
        loaded: The model, processor and configuration.
        out_dir: Folder to write (created).
        family: Adapter name.
        state_dict: The model's state, when the parameters themselves are sharded (DeepSpeed ZeRO-3 gathers it
            for saving); default ``model.state_dict()``.

    Returns:
        The folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded.processor.save_pretrained(out)
    model = loaded.model
    meta: dict[str, Any] = {"format": FORMAT_VERSION, "family": family, "config": loaded.config.to_dict()}
    if hasattr(model, "peft_config"):
        given = {"state_dict": state_dict} if state_dict is not None else {}
        model.save_pretrained(out, save_embedding_layers=False, **given)
        meta["base_path"] = str(loaded.base_path)
    else:
        full = state_dict if state_dict is not None else model.state_dict()
        state = {k: v for k, v in full.items() if f".{MODULE_NAME}." not in f".{k}"}
        model.save_pretrained(out, state_dict=state)
    modules = vidllm_state_dict(model)
    if state_dict is not None:  # the gathered values win over the (possibly sharded) module's own
        marker = f".{MODULE_NAME}."
        gathered = {f".{k}".split(marker, 1)[1]: v for k, v in state_dict.items() if marker in f".{k}"}
        modules.update({k: v.detach().cpu() for k, v in gathered.items()})
    save_file(modules, str(out / MODULES_FILE))
    meta["config"]["path"] = str(out)
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    logger.info("saved %s model to %s", family, out)
    return out


def move_to(batch: dict, device: torch.device) -> dict:
    """Move every tensor of ``batch`` to ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
