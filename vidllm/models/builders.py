"""Config -> plain arguments -> modules. The only place a :class:`ModelConfig` is read to build components."""

from __future__ import annotations

import torch

from vidllm.models.components.layout import VideoLayout
from vidllm.models.components.slots import SlotCompressor
from vidllm.models.components.time_embedding import TimeEmbedding
from vidllm.models.components.video_hook import VideoTimeModules
from vidllm.models.config import ModelConfig


def build_layout(config: ModelConfig, *, native_frame_text: bool) -> VideoLayout:
    """The prompt layout of videos.

    Args:
        config: The model configuration.
        native_frame_text: The family writes frame times natively (Qwen3-VL).
    """
    comp = config.compression
    per_video = comp.enabled and comp.per == "video"
    return VideoLayout(
        frame_text=(config.time.frame_text or native_frame_text) and not per_video,
        slots_per_video=comp.num_slots if per_video else None,
        slots_per_frame=comp.num_slots if comp.enabled and comp.per == "frame" else None,
    )


def build_video_modules(
    config: ModelConfig, layout: VideoLayout, *, hidden_size: int, absolute_time: bool
) -> VideoTimeModules:
    """The modules between the vision encoder and the LLM, initialised from ``config.seed``.

    Args:
        config: The model configuration.
        layout: From :func:`build_layout`.
        hidden_size: Width of the merged visual tokens (the LLM's hidden size).
        absolute_time: Temporal positions follow ``second_per_grid_ts`` (Qwen2.5-VL).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        embedding = (
            TimeEmbedding(
                config.time.max_seconds, hidden_size, config.time.embedding_init, config.time.embedding_scale
            )
            if config.time.time_embedding
            else None
        )
        comp = config.compression
        compressor = SlotCompressor(hidden_size, comp.num_slots, comp.iterations) if comp.enabled else None
    return VideoTimeModules(layout, embedding, compressor, comp.per, absolute_time)
