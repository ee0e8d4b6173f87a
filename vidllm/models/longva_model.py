"""LongVA as one explicit module: transformers' CLIP vision tower + a 2-layer GELU projector + 2x2 pooling + Qwen2.

LongVA (Zhang et al., 2024, "Long Context Transfer from Language to Vision") is LLaVA-NeXT's recipe on
Qwen2-7B-Instruct-224K. For a video, each frame (336x336, CLIP mean/std) goes through CLIP ViT-L/14-336; the
penultimate layer's 576 patch tokens (the CLS token dropped) are projected to the LLM width by ``mlp2x_gelu`` and then
average-pooled 2x2 on their 24x24 grid -- 144 tokens per frame. The frames' tokens are concatenated, in order, and
take the place of the prompt's one video placeholder (no separator, no ``image_newline``: LongVA's ``unires`` merge
treats a video as one flat run). Positions are plain 1-D, counting visual tokens like text tokens.

Nothing here is copied from the LongVA / LLaVA code base. Module names follow transformers' Qwen-VL models
(``model.visual`` holds the tower and its ``merger``, ``model.language_model`` the decoder, ``lm_head`` at the top)
so that vidllm's LoRA scoping, parameter groups and projector training apply unchanged; LongVA's own checkpoint
names (``model.mm_projector.0``...) are mapped onto these by :mod:`vidllm.models.longva_weights`.

Shapes below use ``N`` frames in the batch, ``P = (image_size / patch_size)**2`` patches per frame (576),
``D_v`` the CLIP width (1024), ``D`` the LLM width (3584) and ``K = P / pool_stride**2`` tokens per frame (144).
"""

from __future__ import annotations

from typing import Literal

import torch
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModel, GenerationMixin, PreTrainedModel, Qwen2Config, Qwen2Model
from transformers.configuration_utils import PreTrainedConfig, SubConfigSpec

from vidllm.models.heads import VideoInnerModelMixin, VideoLMHeadMixin

# openai/clip-vit-large-patch14-336, the tower every released LongVA checkpoint names in ``mm_vision_tower``.
CLIP_L14_336 = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "image_size": 336,
    "patch_size": 14,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
}


@strict
class LongVAConfig(PreTrainedConfig):
    """Configuration of :class:`LongVAForCausalLM`.

    Args:
        vision_config: The CLIP vision tower's configuration (default: CLIP ViT-L/14-336).
        text_config: The Qwen2 decoder's configuration.
        image_token_id: Vocabulary id of the visual placeholder token (``<image>``).
        vision_feature_layer: Which hidden state of the tower feeds the projector (LLaVA's ``mm_vision_select_layer``).
        vision_feature_select: ``patch`` drops the CLS token, ``cls_patch`` keeps it (``mm_vision_select_feature``).
        projector_type: ``mlp2x_gelu`` (Linear, GELU, Linear) or ``linear``.
        pool_stride: Spatial pooling stride on the patch grid after the projector (``mm_spatial_pool_stride``).
        pool_mode: ``average`` or ``max`` (``mm_spatial_pool_mode``).
        tie_word_embeddings: Tie ``lm_head`` to the input embeddings.
    """

    model_type = "vidllm_longva"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=CLIPVisionConfig, init_kwargs=dict(CLIP_L14_336)),
        "text_config": SubConfigSpec(config_class=Qwen2Config),
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    image_token_id: int | None = None
    vision_feature_layer: int = -2
    vision_feature_select: Literal["patch", "cls_patch"] = "patch"
    projector_type: Literal["mlp2x_gelu", "linear"] = "mlp2x_gelu"
    pool_stride: int = 2
    pool_mode: Literal["average", "max"] = "average"
    tie_word_embeddings: bool = False

    @property
    def patches_per_side(self) -> int:
        """Patch grid side of one frame (24 for CLIP-L/14 at 336 pixels)."""
        return self.vision_config.image_size // self.vision_config.patch_size

    @property
    def pooled_side(self) -> int:
        """Token grid side of one frame after pooling (12)."""
        return -(-self.patches_per_side // self.pool_stride)

    @property
    def tokens_per_frame(self) -> int:
        """LLM tokens per frame (144)."""
        return self.pooled_side**2


def build_projector(projector_type: str, vision_width: int, text_width: int) -> nn.Module:
    """LLaVA's projector as an ``nn.Sequential`` (so its parameters are named ``0.*`` and ``2.*``, as in LLaVA).

    Args:
        projector_type: ``mlp2x_gelu`` or ``linear``.
        vision_width: CLIP width ``D_v``.
        text_width: LLM width ``D``.

    Returns:
        A module mapping `(..., D_v)` to `(..., D)`.
    """
    if projector_type == "linear":
        return nn.Sequential(nn.Linear(vision_width, text_width))
    if projector_type == "mlp2x_gelu":
        return nn.Sequential(nn.Linear(vision_width, text_width), nn.GELU(), nn.Linear(text_width, text_width))
    raise ValueError(f"projector_type must be 'mlp2x_gelu' or 'linear', got {projector_type!r}")


def pool_frames(features: torch.Tensor, side: int, stride: int, mode: str) -> torch.Tensor:
    """Pool each frame's tokens on their square grid (LongVA: after the projector, 24x24 -> 12x12).

    Args:
        features (`torch.Tensor` of shape `(N, side * side, D)`): Projected patch tokens, row-major.
        side: Grid side.
        stride: Pooling kernel and stride; 1 keeps the tokens.
        mode: ``average`` or ``max``.

    Returns:
        `torch.Tensor` of shape `(N, ceil(side / stride)**2, D)`.
    """
    if stride == 1:
        return features
    n, tokens, dim = features.shape
    if tokens != side * side:
        raise ValueError(f"{tokens} tokens per frame do not form a {side}x{side} grid; check vision_feature_select")
    grid = features.view(n, side, side, dim).permute(0, 3, 1, 2)
    if mode == "average":
        pooled = nn.functional.avg_pool2d(grid, stride, ceil_mode=True)
    elif mode == "max":
        pooled = nn.functional.max_pool2d(grid, stride, ceil_mode=True)
    else:
        raise ValueError(f"pool_mode must be 'average' or 'max', got {mode!r}")
    return pooled.permute(0, 2, 3, 1).reshape(n, -1, dim)


class LongVAVisual(nn.Module):
    """Frames -> LLM tokens: CLIP tower, projector (``merger``), spatial pooling.

    Args:
        config: The model configuration.
    """

    def __init__(self, config: LongVAConfig):
        super().__init__()
        self.config = config
        self.vision_tower = CLIPVisionModel(config.vision_config)
        self.merger = build_projector(
            config.projector_type, config.vision_config.hidden_size, config.text_config.hidden_size
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Encode frames.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(N, 3, image_size, image_size)`): CLIP-normalised frames.

        Returns:
            `torch.Tensor` of shape `(N, K, D)`.
        """
        cfg = self.config
        dtype = self.vision_tower.embeddings.patch_embedding.weight.dtype
        out = self.vision_tower(pixel_values.to(dtype), output_hidden_states=True)
        hidden = out.hidden_states[cfg.vision_feature_layer]  # (N, 1 + P, D_v)
        if cfg.vision_feature_select == "patch":
            hidden = hidden[:, 1:]
        features = self.merger(hidden)  # (N, P, D)
        return pool_frames(features, cfg.patches_per_side, cfg.pool_stride, cfg.pool_mode)


class LongVAModel(VideoInnerModelMixin, nn.Module):
    """Vision side and Qwen2 decoder; visual tokens replace the ``image_token_id`` placeholders of the prompt.

    Args:
        config: The model configuration.
    """

    placeholder_name = "image_token_id"

    def __init__(self, config: LongVAConfig):
        super().__init__()
        self.config = config
        self.visual = LongVAVisual(config)
        self.language_model = Qwen2Model(config.text_config)

    def frame_tokens(self, pixel_values_videos: torch.Tensor, frames: list[int]) -> list[torch.Tensor]:
        """Each video's pooled CLIP tokens, frame-major: `(T_i * K, D)` (``K`` = 144 for LongVA-7B)."""
        tokens = self.visual(pixel_values_videos)  # (N, K, D)
        return [t.reshape(-1, t.shape[-1]) for t in torch.split(tokens, frames)]


class LongVAForCausalLM(VideoLMHeadMixin, PreTrainedModel, GenerationMixin):
    """LongVA with a language-modelling head (see the module docstring).

    Args:
        config: The model configuration.
    """

    config_class = LongVAConfig
    config: LongVAConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["Qwen2DecoderLayer", "CLIPEncoderLayer"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_flash_attn = True
    _supports_sdpa = True
    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}
    accepts_loss_kwargs = False  # as the Qwen-VL models: vidllm's trainer normalises the loss itself
    positions_from_mask = True  # left padding gives the same positions as no padding

    def __init__(self, config: LongVAConfig):
        super().__init__(config)
        self.model = LongVAModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def _init_weights(self, module):
        std = self.config.text_config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        else:
            super()._init_weights(module)

    def get_input_embeddings(self) -> nn.Module:
        return self.model.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.language_model.set_input_embeddings(value)
