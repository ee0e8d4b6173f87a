"""The quickstart's model: a Qwen2-VL of the real architecture, shrunk to under a million parameters and written
with random weights (trained from scratch), with a tokenizer whose merges know the synthetic benchmark's words.

Frames of 28x28 pixels with 14-pixel patches and the 2x2 merge give one visual token per group of two frames, so a
16-s video sampled at 2 fps is 16 visual tokens; the whole sample is about 60 tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vidllm.models.tiny import FAMILIES
from vidllm.synthetic.scenes import COLORS, SHAPES
from vidllm.synthetic.tasks import PROMPTS


@dataclass
class ScratchModelConfig:
    """Sizes of the from-scratch Qwen2-VL.

    Attributes:
        hidden_size: Width of the language model (also the vision tower's output).
        layers: Decoder layers.
        heads: Attention heads (head size ``hidden_size / heads``).
        kv_heads: Key/value heads (grouped-query attention).
        intermediate_size: MLP width of the language model.
        vision_depth: Vision transformer blocks.
        vision_dim: Vision transformer width.
        patch: Vision patch side in pixels.
        frame: Frame side in pixels the processor keeps (a multiple of ``2 * patch``).
    """

    hidden_size: int = field(default=128, metadata={"help": "language model width"})
    layers: int = field(default=2, metadata={"help": "decoder layers"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    kv_heads: int = field(default=2, metadata={"help": "key/value heads"})
    intermediate_size: int = field(default=256, metadata={"help": "language model MLP width"})
    vision_depth: int = field(default=2, metadata={"help": "vision transformer blocks"})
    vision_dim: int = field(default=64, metadata={"help": "vision transformer width"})
    patch: int = field(default=14, metadata={"help": "vision patch side (pixels)"})
    frame: int = field(default=28, metadata={"help": "frame side (pixels)"})

    def __post_init__(self):
        head = self.hidden_size // max(self.heads, 1)
        if self.hidden_size % self.heads or head % 8 or self.heads % self.kv_heads:
            raise ValueError(
                f"model.hidden_size={self.hidden_size} / heads={self.heads} must give a head size that is a multiple "
                f"of 8 (M-RoPE splits it 2:1:1), and heads a multiple of kv_heads={self.kv_heads}"
            )
        if self.frame % (2 * self.patch):
            raise ValueError(f"model.frame={self.frame} must be a multiple of 2 x patch={2 * self.patch}")


def synthetic_corpus() -> tuple[str, ...]:
    """Sentences with the benchmark's words, so that the tokenizer learns them as tokens."""
    names = [f"the {c} {s}" for c in COLORS for s in SHAPES]
    queries = [f"{n} is visible" for n in names] + [f"{n} moves left" for n in names] + [f"{n} pulses" for n in names]
    # The mr / vhd / dvc questions only: the merges (and so the quickstart's documented numbers) stay as they were
    # before the tad question existed; its words are still in the vocabulary, a few tokens each.
    prompts = [PROMPTS[t] for t in ("mr", "vhd", "dvc")]
    return (*(p.replace("<query_placeholder>", q) for q in queries for p in prompts), *queries)


def scratch_config(size: ScratchModelConfig, tokenizer, family: str = "qwen2_vl"):
    """The family's real configuration (``Qwen2VLConfig``, ``Qwen2_5_VLConfig`` or ``Qwen3VLConfig``) at ``size``
    for ``tokenizer``: the same widths and depths, each family's own positions (Qwen2.5-VL: absolute-time M-RoPE at
    2 positions per second; Qwen3-VL: interleaved M-RoPE, DeepStack, native frame-time text)."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    head = size.hidden_size // size.heads
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [head // 4, head // 8, head // 8]}
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": size.hidden_size,
        "intermediate_size": size.intermediate_size,
        "num_hidden_layers": size.layers,
        "num_attention_heads": size.heads,
        "num_key_value_heads": size.kv_heads,
        "max_position_embeddings": 4096,
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "rope_parameters": rope,
    }
    ids = tokenizer.convert_tokens_to_ids
    tokens = {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }
    grid = {"patch_size": size.patch, "temporal_patch_size": 2, "spatial_merge_size": 2}
    heads = max(size.vision_dim // 32, 1)
    if family == "qwen2_vl":
        vision = {"depth": size.vision_depth, "embed_dim": size.vision_dim, "hidden_size": size.hidden_size,
                  "num_heads": heads, "mlp_ratio": 2, **grid}  # fmt: skip
        return Qwen2VLConfig(text_config=text, vision_config=vision, **tokens)
    vision = {"depth": size.vision_depth, "hidden_size": size.vision_dim, "out_hidden_size": size.hidden_size,
              "intermediate_size": 2 * size.vision_dim, "num_heads": heads, **grid}  # fmt: skip
    if family == "qwen2_5_vl":
        vision.update(tokens_per_second=2, window_size=size.patch * 4, fullatt_block_indexes=[size.vision_depth - 1])
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **tokens)
    if family == "qwen3_vl":
        text.update(head_dim=head, rope_parameters={**rope, "mrope_interleaved": True})
        vision.update(num_position_embeddings=(size.frame // size.patch) ** 2, deepstack_visual_indexes=[0])
        return Qwen3VLConfig(text_config=text, vision_config=vision, **tokens)
    raise ValueError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")


def write_scratch_model(
    folder: str | Path, size: ScratchModelConfig, *, seed: int = 0, family: str = "qwen2_vl"
) -> Path:
    """Write a randomly initialised model of ``family`` (``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``) at ``size`` with
    its processor; returns ``folder`` (loadable by the family's adapter like any checkpoint). Rewriting with the same
    seed gives the same weights."""
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLForConditionalGeneration,
        Qwen3VLForConditionalGeneration,
    )

    from vidllm.models.tiny import build_processor, build_tokenizer

    folder = Path(folder)
    tokenizer = build_tokenizer(synthetic_corpus(), vocab_size=600)
    config = scratch_config(size, tokenizer, family)
    cls = {"qwen2_vl": Qwen2VLForConditionalGeneration, "qwen2_5_vl": Qwen2_5_VLForConditionalGeneration,
           "qwen3_vl": Qwen3VLForConditionalGeneration}[family]  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(folder)
    build_processor(family, tokenizer, frame=size.frame, patch=size.patch).save_pretrained(folder)
    return folder


def count_parameters(folder: str | Path) -> int:
    """Parameters of the checkpoint in ``folder`` (from its safetensors headers; nothing is loaded)."""
    from safetensors import safe_open

    total = 0
    for path in Path(folder).glob("*.safetensors"):
        with safe_open(path, "pt") as f:
            total += sum(math.prod(f.get_slice(key).get_shape()) for key in f.keys())  # noqa: SIM118
    return total
