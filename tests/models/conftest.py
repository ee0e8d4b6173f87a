"""Tiny Qwen-VL checkpoints (built once per session) and adapters loaded from them, as from a real folder."""

from __future__ import annotations

import pytest
import torch
from tiny_models import FAMILIES, tiny_model_config, write_tiny_checkpoint
from transformers.utils import logging as hf_logging

from vidllm.models import get_adapter

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory) -> dict[str, str]:
    """One tiny checkpoint folder per family."""
    root = tmp_path_factory.mktemp("tiny")
    return {family: str(write_tiny_checkpoint(family, root / family)) for family in FAMILIES}


@pytest.fixture
def make_adapter(tiny_folders):
    """``make_adapter(family, component="none", **config overrides)`` -> a loaded adapter."""

    def make(family: str, component: str = "none", **overrides):
        return get_adapter(family)(tiny_model_config(tiny_folders[family], family, component, **overrides)).load()

    return make
