"""Fixtures of the fault-injection tests: tiny checkpoints, a toy training set, a LoRA folder, the CLI in-process.

Every test here plays a user's mistake (or a kill) end to end on the tiny models of :mod:`vidllm.models.tiny` and
checks that vidllm refuses it in one line, counts it, or recovers from it -- never a traceback, never a silently
different number. ``docs/reliability.md`` lists each promise with the test that keeps it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from reliability_helpers import FAMILY, NoModel
from tiny_models import tiny_model_config
from transformers.utils import logging as hf_logging

from vidllm.cli import main
from vidllm.models import LoraSettings, get_adapter
from vidllm.models.tiny import synthetic_video, video_messages, write_tiny_checkpoint
from vidllm.train.config import load_train_config
from vidllm.train.toy import write_toy_set

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "train_configs" / "tiny_cpu.yaml"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random Qwen2.5-VL checkpoint folder."""
    return write_tiny_checkpoint(FAMILY, tmp_path_factory.mktemp("tiny") / FAMILY)


@pytest.fixture(scope="session")
def other_family_checkpoint(tmp_path_factory) -> Path:
    """A tiny Qwen2-VL checkpoint: a base of another family than :func:`tiny_checkpoint`."""
    return write_tiny_checkpoint("qwen2_vl", tmp_path_factory.mktemp("tiny_other") / "qwen2_vl")


@pytest.fixture(scope="session")
def toy_set(tmp_path_factory) -> tuple[Path, Path]:
    """``(records.jsonl, videos/)``: 4 synthetic 8-s videos, 1-2 moment questions each."""
    return write_toy_set(tmp_path_factory.mktemp("toy"), num_videos=4, seed=0)


@pytest.fixture
def make_config(tiny_checkpoint, toy_set, tmp_path):
    """``make_config(*overrides, out="run")`` -> the tiny CPU training config on the tiny checkpoint and toy set."""

    def make(*overrides: str, out: str = "run"):
        records, videos = toy_set
        base = [
            f"model.path={tiny_checkpoint}",
            f"data.files=[{records}]",
            f"data.video_root={videos}",
            f"checkpoint.output_dir={tmp_path / out}",
        ]
        return load_train_config(TINY_YAML, [*base, *overrides])

    return make


@pytest.fixture(scope="session")
def lora_folder(tiny_checkpoint, tmp_path_factory) -> Path:
    """A LoRA folder over :func:`tiny_checkpoint` as the recipe saves one (two optimizer steps, so LoRA is not 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        adapter = get_adapter(FAMILY)(tiny_model_config(tiny_checkpoint, FAMILY)).load()
        adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
        sample = adapter.build_inputs(video_messages(answer="2.0 - 6.0 seconds"), [synthetic_video(8, fps=1.0)])
        batch = adapter.collate([sample])
        optimizer = torch.optim.AdamW([p for p in adapter.model.parameters() if p.requires_grad], lr=5e-2)
        for _ in range(2):
            adapter.forward(batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        adapter.model.eval()
    return adapter.save(tmp_path_factory.mktemp("lora") / "run")


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` -> ``(exit code, stdout, stderr)`` of ``vidllm ARGV`` run in this process."""

    def run(*argv) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def no_model(monkeypatch):
    """Make any weights load fail the test: what is refused must be refused before the model loads."""
    from transformers import PreTrainedModel

    def refuse(cls, *args, **kwargs):
        raise NoModel(f"{cls.__name__} weights were loaded before the problem was reported")

    monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(refuse))
