"""Model adapters behind :class:`~vidllm.models.protocol.VideoLLMAdapter`, in :data:`MODELS`, sharing one core
(:mod:`vidllm.models.base`, :mod:`vidllm.models.checkpoint`); a family is the hooks that differ.

>>> from vidllm.models import TimeConfig, from_pretrained
>>> adapter = from_pretrained("Qwen/Qwen2.5-VL-7B-Instruct",
...                           time=TimeConfig(scheme="vtgllm", time_tokens=True))    # doctest: +SKIP
>>> adapter = from_pretrained("runs/vtgllm")          # a run folder: base + adapter + components   # doctest: +SKIP
"""

from __future__ import annotations

from vidllm.models.base import EncodedVideo, VideoAdapterBase
from vidllm.models.config import CompressionConfig, LoraSettings, ModelConfig, TimeConfig
from vidllm.models.loading import detect_family, from_pretrained, load_model
from vidllm.models.protocol import FramesWithTimes, VideoLLMAdapter
from vidllm.models.registry import MODELS, get_adapter

__all__ = [
    "MODELS",
    "CompressionConfig",
    "EncodedVideo",
    "FramesWithTimes",
    "LoraSettings",
    "ModelConfig",
    "TimeConfig",
    "VideoAdapterBase",
    "VideoLLMAdapter",
    "detect_family",
    "from_pretrained",
    "get_adapter",
    "load_model",
]
