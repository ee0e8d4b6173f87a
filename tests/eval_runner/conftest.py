"""Fixtures of the evaluation-runner tests: a tiny Qwen2-VL checkpoint and a LoRA folder over it.

The checkpoint is a vidllm.models.tiny random model, written once per session and loaded like a real one; its answers
are deterministic gibberish, which is what the resume / sharding / adapter tests compare. Tests of what the runner does
with readable answers wrap it in :class:`eval_runner_helpers.ScriptedAdapter`. The benchmark cuts are built by
:mod:`eval_runner_helpers`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from eval_runner_helpers import FAMILY, FRAME, NUM_FRAMES
from tiny_models import synthetic_video, tiny_model_config, video_messages, write_tiny_checkpoint
from transformers.utils import logging as hf_logging

from vidllm.models import LoraSettings, get_adapter

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny Qwen2-VL checkpoint folder (frames of 16 x 16 pixels keep their size)."""
    return write_tiny_checkpoint(FAMILY, tmp_path_factory.mktemp("tiny") / "base", frame=FRAME)


@pytest.fixture(scope="session")
def tiny_lora(tiny_base, tmp_path_factory) -> Path:
    """A LoRA folder over :func:`tiny_base` as the training recipe writes it: ``apply_lora``, two optimizer steps,
    ``save``, plus a saved training config that sets the sampling (1 fps, at most 8 frames)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        adapter = get_adapter(FAMILY)(tiny_model_config(tiny_base, FAMILY)).load()
        adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
        batch = adapter.collate([adapter.build_inputs(video_messages(answer="2.0 - 6.0 seconds"),
                                                      [synthetic_video(NUM_FRAMES, fps=1.0)])])  # fmt: skip
        optimizer = torch.optim.AdamW([p for p in adapter.model.parameters() if p.requires_grad], lr=5e-2)
        adapter.model.train()
        for _ in range(2):
            adapter.forward(batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        adapter.model.eval()
    folder = adapter.save(tmp_path_factory.mktemp("lora") / "adapter")
    (folder / "train_config.yaml").write_text(f"data:\n  fps: 1.0\n  max_frames: {NUM_FRAMES}\n")
    return folder
