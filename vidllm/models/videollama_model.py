"""Video-LLaMA / VTG-LLM as one explicit module, assembled from transformers' BLIP-2 and LLaMA classes.

The released models (DAMO-NLP-SG/Video-LLaMA ``video_llama/models/video_llama.py``, gyxxyg/VTG-LLM
``vtgllm/models/vtgllm.py``) run, per video of ``T`` frames of 224 x 224::

    frames (T, 3, 224, 224)
      -> EVA ViT-g + ln_vision            Blip2VisionModel (post_layernorm = ln_vision)    (T, 257, 1408)
      -> BLIP-2 Q-Former, 32 queries      Blip2QFormerModel + query_tokens                 (T, 32, 768)
      -> + frame position embedding       nn.Embedding(max_frame_pos, 768)                 (T, 32, 768)
      -> + time embedding (VTG-LLM)       vidllm TimeEmbedding, whole seconds              (T * 32, 768)
      -> slots (VTG-LLM)                  K slots over all T * 32 tokens                   (K, 768)
         or video Q-Former (Video-LLaMA)  2-layer Q-Former, 32 video queries               (32, 768)
      -> llama_proj                       nn.Linear(768, llm hidden)                       (N, 4096)
      -> LLaMA-2, the N features scattered into the N ``<ImageHere>`` placeholders of the prompt

Names follow the Qwen-VL models of transformers (``model.visual``, ``model.language_model``, ``lm_head``), so vidllm's
LoRA scoping (``model.language_model.*``), parameter groups (``.visual.`` vision, ``.visual.merger.`` projector,
``.vidllm.`` time modules) and checkpoint code apply unchanged. The time embedding and slots are vidllm's
:class:`~vidllm.models.components.video_hook.VideoTimeModules`, registered as ``model.vidllm`` by the adapter; the
model runs without them (then it is Video-LLaMA, or VTG-LLM without its time components).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import (
    Blip2QFormerConfig,
    Blip2QFormerModel,
    Blip2VisionConfig,
    Blip2VisionModel,
    GenerationMixin,
    LlamaConfig,
    LlamaModel,
    PretrainedConfig,
    PreTrainedModel,
)

from vidllm.models.heads import VideoInnerModelMixin, VideoLMHeadMixin


def _sub_config(value, cls, defaults: dict):
    if isinstance(value, cls):
        return value
    return cls(**{**defaults, **(value or {})})


class VideoLlamaConfig(PretrainedConfig):
    """Configuration of :class:`VideoLlamaForConditionalGeneration`.

    Args:
        vision_config: EVA ViT-g as a ``Blip2VisionConfig`` (1408 wide, 39 blocks, patch 14, 224 px).
        qformer_config: The BLIP-2 Q-Former (12 layers, cross-attention every 2nd layer onto the ViT).
        video_qformer_config: Video-LLaMA's video Q-Former (2 layers, cross-attention in every layer onto the frame
            tokens), or ``None`` without one (VTG-LLM).
        text_config: LLaMA-2.
        num_query_tokens: Q-Former queries per frame (32).
        num_video_query_tokens: Video Q-Former queries per video (32).
        max_frame_pos: Rows of the frame position embedding: most frames per video (32 Video-LLaMA, 96 VTG-LLM).
        ln_vision_eps: Epsilon of ``ln_vision`` (LAVIS: ``nn.LayerNorm`` default, 1e-5; the ViT's own norms use 1e-6).
        round_times: Round frame times to whole seconds before the time embedding, as VTG-LLM does
            (``round(float(t))`` in its datasets).
        video_token_id: Id of ``<ImageHere>``, the placeholder of one visual feature.
    """

    model_type = "videollama"
    sub_configs = {
        "vision_config": Blip2VisionConfig,
        "qformer_config": Blip2QFormerConfig,
        "video_qformer_config": Blip2QFormerConfig,
        "text_config": LlamaConfig,
    }

    def __init__(
        self,
        vision_config: dict | Blip2VisionConfig | None = None,
        qformer_config: dict | Blip2QFormerConfig | None = None,
        video_qformer_config: dict | Blip2QFormerConfig | None = None,
        text_config: dict | LlamaConfig | None = None,
        num_query_tokens: int = 32,
        num_video_query_tokens: int = 32,
        max_frame_pos: int = 32,
        ln_vision_eps: float = 1e-5,
        round_times: bool = True,
        video_token_id: int | None = None,
        **kwargs,
    ):
        self.vision_config = _sub_config(vision_config, Blip2VisionConfig, {})
        self.qformer_config = _sub_config(qformer_config, Blip2QFormerConfig, {})
        if video_qformer_config is not None:
            defaults = {"num_hidden_layers": 2, "cross_attention_frequency": 1}
            video_qformer_config = _sub_config(video_qformer_config, Blip2QFormerConfig, defaults)
        self.video_qformer_config = video_qformer_config
        self.text_config = _sub_config(text_config, LlamaConfig, {})
        self.num_query_tokens = num_query_tokens
        self.num_video_query_tokens = num_video_query_tokens
        self.max_frame_pos = max_frame_pos
        self.ln_vision_eps = ln_vision_eps
        self.round_times = round_times
        self.video_token_id = video_token_id
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(**kwargs)

    @property
    def use_video_qformer(self) -> bool:
        """Video-LLaMA's video Q-Former pools the frames (else all frame tokens, or slots, go on)."""
        return self.video_qformer_config is not None


class VideoLlamaMerger(nn.Module):
    """Frame tokens -> LLM features: frame position embedding, the optional video Q-Former, ``llama_proj``.

    Args:
        config: The model configuration.
    """

    def __init__(self, config: VideoLlamaConfig):
        super().__init__()
        width = config.qformer_config.hidden_size
        self.frame_position_embedding = nn.Embedding(config.max_frame_pos, width)
        if config.use_video_qformer:
            self.video_qformer = Blip2QFormerModel(config.video_qformer_config)
            self.video_query_tokens = nn.Parameter(torch.zeros(1, config.num_video_query_tokens, width))
        else:
            self.video_qformer = None
            self.video_query_tokens = None
        self.proj = nn.Linear(width, config.text_config.hidden_size)

    def add_frame_positions(self, frame_tokens: torch.Tensor) -> torch.Tensor:
        """Add each frame's position embedding to its tokens.

        Args:
            frame_tokens (`torch.Tensor` of shape `(T, queries, width)`): One video's Q-Former output.

        Returns:
            `torch.Tensor` of the same shape.

        Raises:
            ValueError: More frames than the embedding has rows.
        """
        frames = frame_tokens.shape[0]
        rows = self.frame_position_embedding.num_embeddings
        if frames > rows:
            raise ValueError(
                f"a video of {frames} frames, but the frame position embedding has {rows} rows (max_frame_pos); "
                f"sample at most {rows} frames (data.max_frames / sampling.max_frames) or convert the checkpoint "
                f"with a larger max_frame_pos"
            )
        positions = torch.arange(frames, device=frame_tokens.device)
        return frame_tokens + self.frame_position_embedding(positions).unsqueeze(1).to(frame_tokens.dtype)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """The video Q-Former over all of one video's tokens (identity without one).

        Args:
            tokens (`torch.Tensor` of shape `(n, width)`): Frame tokens (or slots), frame-major.

        Returns:
            `(num_video_query_tokens, width)` with the video Q-Former, else ``tokens``.
        """
        if self.video_qformer is None:
            return tokens
        out = self.video_qformer(
            query_embeds=self.video_query_tokens.to(tokens.dtype),
            encoder_hidden_states=tokens.unsqueeze(0),
            encoder_attention_mask=torch.ones(1, tokens.shape[0], dtype=torch.long, device=tokens.device),
        )
        return out.last_hidden_state[0]


class VideoLlamaVisual(nn.Module):
    """The visual side: EVA ViT-g, ``ln_vision``, the BLIP-2 Q-Former and its queries, and the merger.

    Args:
        config: The model configuration.
    """

    def __init__(self, config: VideoLlamaConfig):
        super().__init__()
        self.vision_model = Blip2VisionModel(config.vision_config)
        # LAVIS's ln_vision is a separate nn.LayerNorm with the default eps; Blip2VisionModel's post_layernorm sits
        # in the same place (after the last block), so it plays ln_vision with ln_vision's eps.
        width = config.vision_config.hidden_size
        self.vision_model.post_layernorm = nn.LayerNorm(width, eps=config.ln_vision_eps)
        self.qformer = Blip2QFormerModel(config.qformer_config)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.num_query_tokens, config.qformer_config.hidden_size))
        self.merger = VideoLlamaMerger(config)

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Frames -> Q-Former query outputs.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(frames, 3, 224, 224)`): Normalised frames.

        Returns:
            `torch.Tensor` of shape `(frames, num_query_tokens, qformer width)`.
        """
        dtype = self.query_tokens.dtype
        image_embeds = self.vision_model(pixel_values=pixel_values.to(dtype)).last_hidden_state  # after ln_vision
        queries = self.query_tokens.expand(image_embeds.shape[0], -1, -1)
        mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        return self.qformer(
            query_embeds=queries, encoder_hidden_states=image_embeds, encoder_attention_mask=mask
        ).last_hidden_state


class VideoLlamaPreTrainedModel(PreTrainedModel):
    config_class = VideoLlamaConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _no_split_modules = ["LlamaDecoderLayer", "Blip2EncoderLayer", "Blip2QFormerLayer"]
    input_modalities = ("video", "text")

    def _init_weights(self, module):
        super()._init_weights(module)
        std = 0.02
        if isinstance(module, VideoLlamaVisual):
            nn.init.normal_(module.query_tokens, std=std)
        elif isinstance(module, VideoLlamaMerger):
            nn.init.zeros_(module.frame_position_embedding.weight)  # VTG-LLM starts it at zero
            if module.video_query_tokens is not None:
                nn.init.normal_(module.video_query_tokens, std=std)


class VideoLlamaModel(VideoInnerModelMixin, VideoLlamaPreTrainedModel):
    """Visual side + LLaMA, without the LM head.

    Args:
        config: The model configuration.
    """

    def __init__(self, config: VideoLlamaConfig):
        super().__init__(config)
        self.visual = VideoLlamaVisual(config)
        self.language_model = LlamaModel(config.text_config)
        self.post_init()

    def frame_tokens(self, pixel_values_videos: torch.Tensor, frames: list[int]) -> list[torch.Tensor]:
        """Each video's Q-Former queries with the frame positions added: `(T_i * 32, Q-Former width)`."""
        visual = self.visual
        per_frame = visual.encode_frames(pixel_values_videos)
        width = per_frame.shape[-1]
        return [visual.merger.add_frame_positions(f).reshape(-1, width) for f in torch.split(per_frame, frames)]

    def module_times(self, video_timestamps: torch.Tensor | None) -> torch.Tensor | None:
        """VTG-LLM's time embedding reads whole seconds (``round_times``)."""
        if video_timestamps is not None and self.config.round_times:
            return torch.round(video_timestamps.float())
        return video_timestamps

    def project_tokens(self, tokens: list[torch.Tensor]) -> list[torch.Tensor]:
        """Video Q-Former (or nothing), then ``llama_proj``."""
        return [self.visual.merger.proj(self.visual.merger.pool(t)) for t in tokens]


class VideoLlamaForConditionalGeneration(VideoLMHeadMixin, VideoLlamaPreTrainedModel, GenerationMixin):
    """Video-LLaMA / VTG-LLM with the LM head; ``generate`` drops the pixels after the prefill.

    Args:
        config: The model configuration.
    """

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: VideoLlamaConfig):
        super().__init__(config)
        self.model = VideoLlamaModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def embed_inputs(self, input_ids, inputs_embeds, pixel_values_videos, video_grid_thw, video_timestamps):
        return self.model.embed(input_ids, pixel_values_videos, video_grid_thw, video_timestamps, inputs_embeds)


class VTGLLMSlots(nn.Module):
    """VTG-LLM's slot compression (``SlotSampler`` in ``vtgllm/models/vtgllm.py``): ``(b, n, d) -> (b, K, d)``.

    Slot ``k`` is the softmax-over-tokens average of the tokens weighted by ``x @ slots[:, k]`` (no norm, key
    projection or scale), so the released ``sampler.slots`` of shape ``(d, K)`` loads as it is. Same call
    convention as :class:`~vidllm.models.components.slots.SlotCompressor` (returns the slots and the pooling
    weights), so :class:`~vidllm.models.components.video_hook.VideoTimeModules` drives either.

    Args:
        dim: Token width (the Q-Former's, 768).
        num_slots: K.
    """

    def __init__(self, dim: int, num_slots: int):
        super().__init__()
        self.num_slots = int(num_slots)
        self.slots = nn.Parameter(torch.randn(dim, num_slots))  # VTG-LLM's initialisation

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Compress.

        Args:
            tokens (`torch.Tensor` of shape `(b, n, dim)`): Input tokens.

        Returns:
            ``(slots, weights)``: `(b, K, dim)` in the tokens' dtype and the `(b, K, n)` pooling weights (rows sum
            to 1 over the tokens).
        """
        logits = tokens.float() @ self.slots.float()  # (b, n, K)
        weights = torch.softmax(logits, dim=1).transpose(1, 2)  # over the tokens
        return (weights.to(tokens.dtype) @ tokens), weights

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}"
