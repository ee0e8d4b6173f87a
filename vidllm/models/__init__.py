"""Model adapters: one file per family behind :class:`~vidllm.models.protocol.VideoLLMAdapter`, in :data:`MODELS`.

>>> from vidllm.models import ModelConfig, TimeConfig, load_model
>>> adapter = load_model(ModelConfig(family="qwen2_5_vl", path="/models/Qwen2.5-VL-7B-Instruct",
...                                  time=TimeConfig(scheme="vtgllm", time_tokens=True)))   # doctest: +SKIP
"""

from __future__ import annotations

from vidllm.models.config import CompressionConfig, LoraSettings, ModelConfig, TimeConfig
from vidllm.models.longva import LongVAAdapter
from vidllm.models.protocol import FramesWithTimes, VideoLLMAdapter
from vidllm.models.qwen2_5_vl import Qwen25VLAdapter
from vidllm.models.qwen2_vl import Qwen2VLAdapter
from vidllm.models.qwen3_vl import Qwen3VLAdapter
from vidllm.models.videollama import VideoLLaMAAdapter

MODELS: dict[str, type[VideoLLMAdapter]] = {
    "qwen2_vl": Qwen2VLAdapter,
    "qwen2_5_vl": Qwen25VLAdapter,
    "qwen3_vl": Qwen3VLAdapter,
    "videollama": VideoLLaMAAdapter,
    "longva": LongVAAdapter,
}


def get_adapter(name: str) -> type[VideoLLMAdapter]:
    """The adapter class registered as ``name``.

    Raises:
        ValueError: For an unknown name; the message lists the valid ones.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model family {name!r}; valid families: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def load_model(config: ModelConfig, *, trainable: bool = False) -> VideoLLMAdapter:
    """Build the adapter of ``config.family`` and load ``config.path``."""
    return get_adapter(config.family)(config).load(trainable=trainable)


__all__ = [
    "MODELS",
    "CompressionConfig",
    "FramesWithTimes",
    "LoraSettings",
    "ModelConfig",
    "TimeConfig",
    "VideoLLMAdapter",
    "get_adapter",
    "load_model",
]
