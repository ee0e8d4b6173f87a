"""The families vidllm knows, by name: the explicit registry behind :func:`get_adapter`."""

from __future__ import annotations

from vidllm.models.longva import LongVAAdapter
from vidllm.models.protocol import VideoLLMAdapter
from vidllm.models.qwen_vl import Qwen2VLAdapter, Qwen3VLAdapter, Qwen25VLAdapter
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
