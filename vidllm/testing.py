"""Deprecated: the tiny-model factory moved to :mod:`vidllm.models.tiny`; the test-only helpers (component matrix,
``tiny_model_config``) to ``tests/tiny_models.py``. This module re-exports the factory for code not yet moved."""

from __future__ import annotations

import warnings

from vidllm.models.tiny import (  # noqa: F401
    FAMILIES,
    FRAME,
    MERGE,
    PATCH,
    build_processor,
    build_tokenizer,
    synthetic_video,
    tiny_config,
    video_messages,
    write_tiny_checkpoint,
)

warnings.warn(
    "vidllm.testing is deprecated: import the tiny models from vidllm.models.tiny "
    "(test helpers: tests/tiny_models.py)",
    DeprecationWarning,
    stacklevel=2,
)
