"""python bench/shapes.py

Published architecture sizes of the video LLMs the scale, latency and loader benchmarks build with random weights (no
download). Each value is copied from the model's ``config.json`` on the Hugging Face Hub, named in ``source``:

* Qwen2.5-VL-7B-Instruct: https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/blob/main/config.json
* Qwen2.5-VL-3B-Instruct: https://huggingface.co/Qwen/Qwen2.5-VL-3B-Instruct/blob/main/config.json
* Qwen3-VL-8B-Instruct: https://huggingface.co/Qwen/Qwen3-VL-8B-Instruct/blob/main/config.json
* LongVA-7B: https://huggingface.co/lmms-lab/LongVA-7B/blob/main/config.json (LLM: Qwen2-7B-Instruct-224K; vision:
  ``openai/clip-vit-large-patch14-336``, https://huggingface.co/openai/clip-vit-large-patch14-336/blob/main/config.json;
  2x2 average pooling after the projector: 144 tokens per frame)

Frame sizes are the Qwen2.5-VL-7B recipe's budget (``train_configs/qwen2_5_vl_7b_full_vtg_it.yaml``: at most
128 x 28 x 28 pixels): 448 x 224 frames, i.e. 128 LLM tokens per 2-frame group for Qwen2.5-VL (14-px patches, 2x2
merge), 98 for Qwen3-VL (16-px patches); LongVA resizes every frame to 336 x 336 (144 tokens per frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Shape:
    """One model's published sizes.

    Attributes:
        name: Model name.
        family: ``qwen2_5_vl``, ``qwen3_vl`` or ``longva``.
        source: Where the values come from.
        text: The language model's config values (``transformers`` names).
        vision: The vision tower's config values.
        frame: ``(height, width)`` of a frame in pixels.
        frames_per_group: Frames merged into one group of LLM tokens (Qwen: 2; LongVA: 1).
        tokens_per_group: LLM tokens per group at ``frame``.
        patches_per_group: Vision-tower tokens per group (before the merge).
    """

    name: str
    family: str
    source: str
    text: dict[str, Any]
    vision: dict[str, Any]
    frame: tuple[int, int]
    frames_per_group: int
    tokens_per_group: int
    patches_per_group: int
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> int:
        """Decoder layers of the language model."""
        return int(self.text["num_hidden_layers"])

    @property
    def vision_depth(self) -> int:
        """Blocks of the vision tower."""
        return int(self.vision.get("depth", self.vision.get("num_hidden_layers", 0)))


QWEN25_VISION = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "hidden_act": "silu",
    "tokens_per_second": 2,
}


def qwen2_5_vl(size: str, **text: Any) -> Shape:
    """A Qwen2.5-VL size: ``text`` holds its language model's values; the vision tower (but its output width), the
    RoPE settings and the frame layout are the same in every size."""
    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]}
    return Shape(
        name=f"Qwen2.5-VL-{size}-Instruct",
        family="qwen2_5_vl",
        source=f"https://huggingface.co/Qwen/Qwen2.5-VL-{size}-Instruct/blob/main/config.json",
        text={**text, "rms_norm_eps": 1e-6, "rope_parameters": rope},
        vision={**QWEN25_VISION, "out_hidden_size": text["hidden_size"]},
        frame=(224, 448),
        frames_per_group=2,
        tokens_per_group=128,
        patches_per_group=512,
    )


SHAPES: dict[str, Shape] = {
    "qwen2.5-vl-7b": qwen2_5_vl(
        "7B",
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        tie_word_embeddings=False,
    ),
    "qwen2.5-vl-3b": qwen2_5_vl(
        "3B",
        hidden_size=2048,
        intermediate_size=11008,
        num_hidden_layers=36,
        num_attention_heads=16,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "qwen3-vl-8b": Shape(
        name="Qwen3-VL-8B-Instruct",
        family="qwen3_vl",
        source="https://huggingface.co/Qwen/Qwen3-VL-8B-Instruct/blob/main/config.json",
        text={
            "hidden_size": 4096,
            "intermediate_size": 12288,
            "num_hidden_layers": 36,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "vocab_size": 151936,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": False,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": [24, 20, 20],
                "mrope_interleaved": True,
            },
        },
        vision={
            "depth": 27,
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_heads": 16,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 4096,
            "num_position_embeddings": 2304,
            "deepstack_visual_indexes": [8, 16, 24],
            "hidden_act": "gelu_pytorch_tanh",
        },
        frame=(224, 448),
        frames_per_group=2,
        tokens_per_group=98,
        patches_per_group=392,
    ),  # fmt: skip
    "longva-7b": Shape(
        name="LongVA-7B",
        family="longva",
        source="https://huggingface.co/lmms-lab/LongVA-7B/blob/main/config.json (+ openai/clip-vit-large-patch14-336)",
        text={
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "vocab_size": 152064,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": False,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000000.0},
        },
        vision={
            "num_hidden_layers": 24,
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_attention_heads": 16,
            "image_size": 336,
            "patch_size": 14,
            "hidden_act": "quick_gelu",
            "projection_dim": 768,
        },
        frame=(336, 336),
        frames_per_group=1,
        tokens_per_group=144,
        patches_per_group=577,
        notes="the LLM feature is layer -2 of CLIP (23 of 24 layers run); a 2-layer MLP projector; 2x2 pooling",
    ),  # fmt: skip
}
"""Shapes by short name."""

TEXT_TOKENS = 100
"""Prompt + answer tokens of a grounding sample beside the visual tokens (question, template, a short answer)."""

COMPRESSIONS = {
    "none": None,
    "slots/video K=256": ("video", 256),
    "slots/frame K=16": ("frame", 16),
}
"""The token layouts compared: stock, vidllm's slots per video (K=256) and per frame group (K=16)."""


def llm_tokens(shape: Shape, frames: int, compression: str) -> int:
    """LLM sequence length of one sample with ``frames`` frames under ``compression`` (visual + :data:`TEXT_TOKENS`).

    ``slots/frame`` pools each group of ``frames_per_group`` frames into K slots, as ``compression.per: frame`` does.
    """
    groups = -(-frames // shape.frames_per_group)
    spec = COMPRESSIONS[compression]
    if spec is None:
        visual = groups * shape.tokens_per_group
    elif spec[0] == "video":
        visual = spec[1]
    else:
        visual = groups * spec[1]
    return visual + TEXT_TOKENS


SMOKE = Shape(
    name="smoke (not a model)",
    family="qwen2_5_vl",
    source="tests/bench only: a tiny Qwen2.5-VL shape that runs the benchmarks' code paths in seconds",
    text={"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
          "num_key_value_heads": 1, "vocab_size": 512, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
          "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]}},
    vision={**QWEN25_VISION, "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "out_hidden_size": 64, "fullatt_block_indexes": [1]},
    frame=(56, 112), frames_per_group=2, tokens_per_group=8, patches_per_group=32,
)  # fmt: skip
"""The smoke tests' shape (``--models smoke``); never part of a reported table."""

ALL_SHAPES = {**SHAPES, "smoke": SMOKE}
"""Every shape a benchmark accepts by name."""


if __name__ == "__main__":
    for key, s in SHAPES.items():
        row = ", ".join(f"{f} frames: {llm_tokens(s, f, 'none')}" for f in (16, 32, 64, 96))
        print(f"{key:<15} {s.layers} layers, d={s.text['hidden_size']}, LLM tokens (stock) {row}  [{s.source}]")
