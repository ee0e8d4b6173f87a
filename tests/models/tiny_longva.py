"""A tiny LongVA checkpoint in the LLaVA code base's format, built locally from transformers' real classes.

The folder looks like ``lmms-lab/LongVA-7B`` at toy size: a flat ``config.json`` (Qwen2's fields + LLaVA's ``mm_*``
fields, ``model_type: llava_qwen``), one safetensors file under LLaVA's weight names (written here by hand from the
parts -- a ``CLIPVisionModel``, a Linear-GELU-Linear projector and a ``Qwen2ForCausalLM`` -- never through vidllm's
key map, so loading it tests that map), a Qwen2-style tokenizer, and a separate CLIP folder that ``mm_vision_tower``
names (relative to the checkpoint), as LLaVA's training scripts pass ``--vision_tower ./clip-vit-large-patch14-336``.

>>> folder = write_tiny_longva(tmp_path / "longva")                # doctest: +SKIP
>>> frames, timestamps = synthetic_video(num_frames=4, fps=0.5)     # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from vidllm.models.tiny import build_tokenizer

CLIP_FOLDER = "clip-vit-tiny"
IMAGE_SIZE = 28  # 4x4 patches of 7 pixels -> 2x2 pooled tokens per frame
PATCH = 7


def tiny_clip_config():
    """A 2-layer CLIP vision tower config (width 16, 28-pixel frames, 7-pixel patches)."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=PATCH,
        projection_dim=8,
    )


def tiny_qwen2_config(tokenizer, *, spare_rows: int = 8, tie_word_embeddings: bool = False):
    """A 2-layer Qwen2 decoder config (width 32) sized for ``tokenizer`` plus ``spare_rows``."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer) + spare_rows,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=8192,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=tie_word_embeddings,
    )


def llava_fields(vision_tower: str, vision_width: int) -> dict:
    """The LLaVA fields of LongVA-7B's ``config.json`` (``mm_vision_tower`` and the width aside, as released)."""
    return {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava_qwen",
        "mm_vision_tower": vision_tower,
        "mm_hidden_size": vision_width,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "mm_spatial_pool_stride": 2,
        "mm_spatial_pool_mode": "average",
        "mm_patch_merge_type": "unires",
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "image_aspect_ratio": "anyres",
        "use_mm_proj": True,
        "tokenizer_padding_side": "right",
    }


def write_tiny_longva(
    folder: str | Path,
    *,
    seed: int = 0,
    spare_rows: int = 8,
    with_tower: bool = True,
    with_image_newline: bool = False,
) -> Path:
    """Build a tiny random LongVA and write it in LLaVA's format to ``folder``.

    Args:
        folder: Output folder (created); the CLIP tower's own folder is written inside it (:data:`CLIP_FOLDER`).
        seed: Seed of the random weights.
        spare_rows: Embedding rows beyond the tokenizer's vocabulary.
        with_tower: Also store the tower's weights in the checkpoint (``model.vision_tower.vision_tower...``);
            without, they come from the CLIP folder only.
        with_image_newline: Add a ``model.image_newline`` weight (LLaVA-NeXT images; unused by video).

    Returns:
        The folder, loadable with ``vidllm.models.load_model(ModelConfig(family="longva", path=folder))``.
    """
    from safetensors.torch import save_file
    from torch import nn
    from transformers import CLIPVisionModel, GenerationConfig, Qwen2ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    clip_config = tiny_clip_config()
    text_config = tiny_qwen2_config(tokenizer, spare_rows=spare_rows)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tower = CLIPVisionModel(clip_config)
        width = text_config.hidden_size
        projector = nn.Sequential(nn.Linear(clip_config.hidden_size, width), nn.GELU(), nn.Linear(width, width))
        llm = Qwen2ForCausalLM(text_config)
        newline = torch.randn(width)
    tower.save_pretrained(folder / CLIP_FOLDER)
    weights = {f"model.mm_projector.{k}": v for k, v in projector.state_dict().items()}
    weights.update(llm.state_dict())  # Qwen2ForCausalLM's names are LLaVA's: model.layers.N..., lm_head.weight
    if with_tower:
        weights.update({f"model.vision_tower.vision_tower.vision_model.{k}": v for k, v in tower.state_dict().items()})
    if with_image_newline:
        weights["model.image_newline"] = newline
    save_file({k: v.contiguous() for k, v in weights.items()}, str(folder / "model.safetensors"), {"format": "pt"})
    config = {**text_config.to_dict(), **llava_fields(CLIP_FOLDER, clip_config.hidden_size)}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
