"""LongVA checkpoints in the LLaVA code base's format (``llava_qwen``) <-> :class:`LongVAForCausalLM`.

A LongVA checkpoint folder (``lmms-lab/LongVA-7B``, ``-7B-DPO``, NumPro-FT's merged LongVA) holds a flat
``config.json`` -- Qwen2's fields plus LLaVA's ``mm_*`` fields, ``model_type: llava_qwen``,
``architectures: [LlavaQwenForCausalLM]`` -- safetensors with LLaVA's weight names, and Qwen2's tokenizer. The names
map onto vidllm's module as follows (:data:`KEY_MAP`, applied in order, first match wins):

==================================================  ============================================
LLaVA (checkpoint)                                   vidllm (:class:`LongVAForCausalLM`)
==================================================  ============================================
``model.vision_tower.vision_tower.vision_model.*``   ``model.visual.vision_tower.*`` (CLIPVisionModel)
``model.mm_projector.{0,2}.*``                       ``model.visual.merger.{0,2}.*``
``model.{embed_tokens,layers.N,norm}.*``             ``model.language_model.*`` (Qwen2Model)
``lm_head.weight``                                   ``lm_head.weight``
``model.image_newline``                              not used (LongVA's ``unires`` merge never adds it
                                                     to video frames); reported as ignored
==================================================  ============================================

The vision tower may be missing from the checkpoint (LLaVA then loads it from ``mm_vision_tower``): its
configuration and, when missing, its weights come from a local CLIP folder -- ``mm_vision_tower`` when it is a folder
(absolute or relative to the checkpoint), else that name in the local Hugging Face cache -- and the configuration
falls back to CLIP ViT-L/14-336's when the checkpoint holds the weights and names that tower. A full save
(:func:`save_llava_checkpoint`) writes the same format, tower included, with its configuration under
``vision_config`` (a key LLaVA's code ignores).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vidllm.models.longva_model import CLIP_L14_336, LongVAConfig, LongVAForCausalLM

logger = logging.getLogger(__name__)

# (LLaVA name pattern, vidllm replacement); None drops the weight. First match wins.
KEY_MAP: tuple[tuple[str, str | None], ...] = (
    (r"^model\.vision_tower\.vision_tower\.vision_model\.", "model.visual.vision_tower."),
    (r"^model\.mm_projector\.", "model.visual.merger."),
    (r"^model\.image_newline$", None),
    (r"^model\.(?=embed_tokens\.|layers\.|norm\.)", "model.language_model."),
    (r"^lm_head\.", "lm_head."),
)
# vidllm prefix -> LLaVA prefix, for saving.
REVERSE_MAP: tuple[tuple[str, str], ...] = (
    ("model.visual.vision_tower.", "model.vision_tower.vision_tower.vision_model."),
    ("model.visual.merger.", "model.mm_projector."),
    ("model.language_model.", "model."),
    ("lm_head.", "lm_head."),
)
IGNORED_KEYS = ("model.image_newline",)
VISION_PREFIX = "model.visual.vision_tower."

# config.json fields that belong to LLaVA, not to the Qwen2 decoder.
LLAVA_FIELDS = {
    "architectures",
    "model_type",
    "image_aspect_ratio",
    "image_grid_pinpoints",
    "image_crop_resolution",
    "image_split_resolution",
    "tokenizer_model_max_length",
    "tokenizer_padding_side",
    "tune_mm_mlp_adapter",
    "unfreeze_mm_vision_tower",
    "use_mm_proj",
    "vision_tower_pretrained",
    "vision_config",
    "pos_skipping_range",
    "use_pos_skipping",
    "_name_or_path",
    "transformers_version",
}
SUPPORTED_MERGES = ("unires", "flat")


def to_vidllm_key(key: str) -> str | None:
    """The vidllm name of a LLaVA checkpoint weight (``None``: not used by the video path).

    Raises:
        KeyError: For a name outside LongVA's layout (e.g. a resampler's weights).
    """
    for pattern, target in KEY_MAP:
        if re.search(pattern, key):
            return None if target is None else re.sub(pattern, target, key, count=1)
    raise KeyError(
        f"checkpoint weight {key!r} is not part of LongVA's layout (CLIP tower, mm_projector, Qwen2, lm_head)"
    )


def to_llava_key(key: str) -> str:
    """The LLaVA checkpoint name of a vidllm weight (inverse of :func:`to_vidllm_key`)."""
    for prefix, target in REVERSE_MAP:
        if key.startswith(prefix):
            return target + key[len(prefix) :]
    raise KeyError(f"weight {key!r} has no place in a LLaVA checkpoint")


# ----------------------------------------------------------------------------------------------------------- config


def read_raw_config(folder: Path) -> dict[str, Any]:
    """The checkpoint's ``config.json``, checked to be a LongVA (``llava_qwen``) one.

    Raises:
        ValueError: For another kind of checkpoint.
    """
    raw = json.loads((folder / "config.json").read_text())
    kind = raw.get("model_type")
    if kind != "llava_qwen" or "mm_vision_tower" not in raw:
        raise ValueError(
            f"{folder} is not a LongVA checkpoint: config.json has model_type={kind!r} "
            f"{'without' if 'mm_vision_tower' not in raw else 'with'} mm_vision_tower; the longva adapter loads "
            "LLaVA-format llava_qwen checkpoints (lmms-lab/LongVA-7B, LongVA-7B-DPO)"
        )
    return raw


def find_clip_folder(name: str, checkpoint: Path) -> Path | None:
    """A local folder holding the CLIP tower ``name`` (``mm_vision_tower``), or ``None``.

    Looked for as a folder (absolute, relative to the checkpoint, relative to the working directory), then as a
    Hugging Face Hub name in the local cache (never downloaded).
    """
    for candidate in (Path(name).expanduser(), checkpoint / name):
        if (candidate / "config.json").is_file():
            return candidate
    if "/" in name and not Path(name).is_absolute():
        with contextlib.suppress(Exception):  # not cached, offline, or not a hub name
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(name, local_files_only=True))
    return None


def vision_config_for(raw: dict[str, Any], checkpoint: Path, clip_folder: Path | None):
    """The tower's ``CLIPVisionConfig``: saved beside the checkpoint by vidllm, else from the CLIP folder, else
    CLIP ViT-L/14-336's when ``mm_vision_tower`` names it.

    Raises:
        FileNotFoundError: When none of these is available.
    """
    from transformers import CLIPVisionConfig

    if isinstance(raw.get("vision_config"), dict):
        return CLIPVisionConfig(**{k: v for k, v in raw["vision_config"].items() if k != "model_type"})
    if clip_folder is not None:
        return CLIPVisionConfig.from_pretrained(clip_folder)
    if "clip-vit-large-patch14-336" in str(raw["mm_vision_tower"]):
        return CLIPVisionConfig(**CLIP_L14_336)
    raise FileNotFoundError(
        f"{checkpoint}: the vision tower {raw['mm_vision_tower']!r} is neither a local folder nor in the Hugging Face "
        "cache; download it and set mm_vision_tower in config.json to its folder"
    )


def longva_config(raw: dict[str, Any], vision_config, *, image_token_id: int) -> LongVAConfig:
    """:class:`LongVAConfig` from a LLaVA ``config.json``.

    Raises:
        ValueError: For LLaVA options LongVA's video path does not have (another projector, pooling or merge).
    """
    from transformers import Qwen2Config

    merge = raw.get("mm_patch_merge_type", "flat")
    if merge not in SUPPORTED_MERGES:
        raise ValueError(f"mm_patch_merge_type={merge!r}: the longva adapter supports {SUPPORTED_MERGES}")
    if raw.get("mm_resampler_type") not in (None, "", "identity"):
        raise ValueError(f"mm_resampler_type={raw['mm_resampler_type']!r}: the longva adapter has no resampler")
    mode = raw.get("mm_spatial_pool_mode", "average")
    if mode not in ("average", "max"):
        raise ValueError(f"mm_spatial_pool_mode={mode!r}: the longva adapter pools with 'average' or 'max'")
    text = {k: v for k, v in raw.items() if k not in LLAVA_FIELDS and not k.startswith("mm_")}
    return LongVAConfig(
        vision_config=vision_config,
        text_config=Qwen2Config(**text),
        image_token_id=image_token_id,
        vision_feature_layer=int(raw.get("mm_vision_select_layer", -2)),
        vision_feature_select=raw.get("mm_vision_select_feature", "patch"),
        projector_type=raw.get("mm_projector_type", "linear"),
        pool_stride=int(raw.get("mm_spatial_pool_stride", 2)),
        pool_mode=mode,
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
    )


# -------------------------------------------------------------------------------------------------------- load/save


@dataclass
class LoadReport:
    """How the checkpoint's weights were used.

    Attributes:
        vision_from: Where the tower's weights came from (``checkpoint`` or a CLIP folder).
        ignored: Checkpoint weights the video path does not use (``model.image_newline``).
    """

    vision_from: str = "checkpoint"
    ignored: list[str] = field(default_factory=list)


def _checkpoint_keys(folder: Path) -> list[str]:
    from safetensors import safe_open

    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else []
    files = files or [p.name for p in sorted(folder.glob("model*.safetensors"))]  # not vidllm_modules.safetensors
    if not files:
        raise FileNotFoundError(f"{folder} holds no model*.safetensors weights")
    keys = []
    for name in files:
        with safe_open(str(folder / name), framework="pt") as f:
            keys.extend(f.keys())
    return keys


def _gathered(params):
    """Under DeepSpeed ZeRO-3, the full parameters for the duration of the block (rank 0's changes kept)."""
    if not any(hasattr(p, "ds_id") for p in params):
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(params), modifier_rank=0)


def load_llava_checkpoint(
    folder: Path,
    *,
    image_token_id: int,
    dtype: torch.dtype,
    attn_implementation: str,
    device_map: dict | None = None,
) -> tuple[LongVAForCausalLM, dict[str, Any], LoadReport]:
    """Build :class:`LongVAForCausalLM` from a LLaVA-format LongVA folder.

    Args:
        folder: The checkpoint folder.
        image_token_id: Id of the ``<image>`` placeholder in the tokenizer.
        dtype: Weights' dtype.
        attn_implementation: ``sdpa``, ``flash_attention_2`` or ``eager``.
        device_map: ``{"": device}`` to load straight onto a device.

    Returns:
        ``(model, raw config.json, report)``.

    Raises:
        KeyError: A checkpoint weight outside LongVA's layout.
        ValueError: Weights missing from the checkpoint (other than a tower found in a CLIP folder).
    """
    from transformers import CLIPVisionModel

    raw = read_raw_config(folder)
    keys = _checkpoint_keys(folder)
    report = LoadReport(ignored=[k for k in keys if to_vidllm_key(k) is None])  # raises on a foreign weight
    has_tower = any(to_vidllm_key(k) and to_vidllm_key(k).startswith(VISION_PREFIX) for k in keys)
    clip_folder = find_clip_folder(str(raw["mm_vision_tower"]), folder)
    config = longva_config(raw, vision_config_for(raw, folder, clip_folder), image_token_id=image_token_id)
    key_mapping = {pattern: target for pattern, target in KEY_MAP if target is not None}
    extra = {"device_map": device_map} if device_map else {}
    model, info = LongVAForCausalLM.from_pretrained(
        folder,
        config=config,
        key_mapping=key_mapping,
        dtype=dtype,
        attn_implementation=attn_implementation,
        output_loading_info=True,
        **extra,
    )
    missing = sorted(info["missing_keys"])
    if config.tie_word_embeddings:
        missing = [k for k in missing if k != "lm_head.weight"]
    if not has_tower:
        if clip_folder is None:
            raise FileNotFoundError(
                f"{folder} has no vision tower weights and {raw['mm_vision_tower']!r} is not a local folder or "
                "cached; download openai/clip-vit-large-patch14-336 and set mm_vision_tower to its folder"
            )
        tower = model.model.visual.vision_tower
        clip = CLIPVisionModel.from_pretrained(clip_folder, dtype=dtype)
        with _gathered(list(tower.parameters())), torch.no_grad():
            tower.load_state_dict(clip.state_dict(), strict=True)
        missing = [k for k in missing if not k.startswith(VISION_PREFIX)]
        report.vision_from = str(clip_folder)
    if missing:
        raise ValueError(f"{folder} lacks {len(missing)} weights of LongVA, e.g. {missing[:5]}")
    for name in report.ignored:
        logger.info("%s: %s is not used by LongVA's video path; ignored", folder, name)
    return model, raw, report


def llava_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """vidllm names -> LLaVA names (tower included)."""
    return {to_llava_key(k): v for k, v in state.items()}


def save_llava_checkpoint(
    model: LongVAForCausalLM, raw: dict[str, Any], out: Path, state: dict[str, torch.Tensor]
) -> None:
    """Write ``state`` as a LLaVA-format checkpoint (sharded safetensors + flat ``config.json``).

    Args:
        model: The model (its configuration gives the vocabulary size and dtype).
        raw: The base checkpoint's ``config.json`` (LLaVA fields kept).
        out: Output folder.
        state: The model's weights under vidllm's names (without vidllm's own modules).
    """
    from huggingface_hub import save_torch_state_dict

    weights = llava_state_dict(state)
    if model.config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)
    save_torch_state_dict({k: v.detach().cpu() for k, v in weights.items()}, out, metadata={"format": "pt"})
    config = dict(raw)
    config["vocab_size"] = int(state["model.language_model.embed_tokens.weight"].shape[0])
    config["vision_config"] = {
        k: v for k, v in model.config.vision_config.to_dict().items() if not k.startswith(("_", "transformers"))
    }
    config["torch_dtype"] = str(next(iter(weights.values())).dtype).replace("torch.", "")
    config.pop("dtype", None)
    (out / "config.json").write_text(json.dumps(config, indent=2))
