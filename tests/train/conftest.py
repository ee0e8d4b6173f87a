"""Fixtures of the training tests: a tiny Qwen2.5-VL checkpoint, a synthetic set with real mp4 videos, and the tiny
CPU config (``train_configs/tiny_cpu.yaml``) pointed at them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers.utils import logging as hf_logging

from vidllm.models.tiny import write_tiny_checkpoint
from vidllm.train.config import TrainConfig, load_train_config
from vidllm.train.toy import write_toy_set

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "train_configs" / "tiny_cpu.yaml"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random Qwen2.5-VL checkpoint folder."""
    return write_tiny_checkpoint("qwen2_5_vl", tmp_path_factory.mktemp("tiny") / "qwen2_5_vl")


@pytest.fixture(scope="session")
def toy_set(tmp_path_factory) -> tuple[Path, Path]:
    """``(records.jsonl, videos/)``: 4 synthetic 8-s videos, 1-2 moment questions each."""
    return write_toy_set(tmp_path_factory.mktemp("toy"), num_videos=4, seed=0)


@pytest.fixture
def make_config(tiny_checkpoint, toy_set, tmp_path):
    """``make_config(*overrides, out="run")`` -> the tiny CPU config on the tiny checkpoint and the toy set."""

    def make(*overrides: str, out: str = "run") -> TrainConfig:
        records, videos = toy_set
        base = [
            f"model.path={tiny_checkpoint}",
            f"data.files=[{records}]",
            f"data.video_root={videos}",
            f"checkpoint.output_dir={tmp_path / out}",
        ]
        return load_train_config(TINY_YAML, [*base, *overrides])

    return make
