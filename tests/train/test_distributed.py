"""The real distributed engine on CPU: two processes under ``torchrun``, DeepSpeed ZeRO-2 and ZeRO-3 over gloo.

Each test starts ``torchrun`` (about 20-40 s on 2 cores: imports, DeepSpeed start; the first DeepSpeed start ever also
compiles a small extension, ~30 s, cached in ~/.cache/torch_extensions). The ``slow`` ones run with ``-m slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidllm.models import ModelConfig, TimeConfig, get_adapter, load_model
from vidllm.models.tiny import write_tiny_checkpoint
from vidllm.train import recipe

pytest.importorskip("deepspeed")

HERE = Path(__file__).resolve().parent
TINY_YAML = HERE.parents[1] / "train_configs" / "tiny_cpu.yaml"
DRIVER = HERE / "torchrun_driver.py"


def torchrun(target: list[str], overrides: list[str], timeout: float = 400) -> subprocess.CompletedProcess:
    """Run ``target`` (``-m vidllm.train`` or the test driver with its flags) on 2 processes with the tiny config."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *target]
    cmd += ["--config", str(TINY_YAML)] if target[0] == "-m" else [str(TINY_YAML)]
    done = subprocess.run([*cmd, *overrides], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return done


def losses(run_dir: Path) -> list[float]:
    state = json.loads((run_dir / "trainer_state.json").read_text())
    return [h["loss"] for h in state["log_history"] if "loss" in h]


def base_overrides(checkpoint, toy_set, out: Path, steps: int = 3) -> list[str]:
    records, videos = toy_set
    return [f"model.path={checkpoint}", f"data.files=[{records}]", f"data.video_root={videos}",
            f"checkpoint.output_dir={out}", f"optim.max_steps={steps}", f"checkpoint.save_steps={steps}",
            "data.shuffle=false", "optim.scheduler=linear", "optim.lr=0.005", "optim.batch_size=1"]  # fmt: skip


def test_zero2_two_processes_match_one_process(tiny_checkpoint, toy_set, make_config, tmp_path):
    """ZeRO-2 on 2 ranks x 1 sample computes what one process computes on 2 samples (LoRA, time tokens, embedding)."""
    out = tmp_path / "zero2"
    overrides = base_overrides(tiny_checkpoint, toy_set, out)
    torchrun(["-m", "vidllm.train"], [*overrides, "deepspeed=zero2"])
    single = recipe.run(make_config(*overrides[4:-1], "optim.batch_size=2", out="single"))
    assert len(losses(out)) == 3
    assert losses(out) == pytest.approx(losses(single), rel=1e-5)
    assert (out / "checkpoint-3" / "global_step3").is_dir()  # DeepSpeed's resumable state
    trained = get_adapter("qwen2_5_vl")(ModelConfig(family="qwen2_5_vl", path=str(tiny_checkpoint), device="cpu"))
    trained.load(out)
    assert trained.time_token_ids and hasattr(trained.model, "peft_config")


def test_zero3_survives_batches_with_and_without_video(tiny_checkpoint, toy_set, tmp_path):
    """Rank 0 always has a video and rank 1 never: ZeRO-3 must neither hang nor crash (collective mismatch)."""
    out = tmp_path / "zero3"
    overrides = base_overrides(tiny_checkpoint, toy_set, out)
    # peft initialises LoRA's time-token rows under ZeRO-3 on CUDA only, so this CPU run writes times as text
    overrides += ["deepspeed=zero3", "model.time.scheme=text", "model.time.time_tokens=false"]
    torchrun([str(DRIVER), "--mixed"], overrides)
    assert len(losses(out)) == 3
    assert (out / "adapter_model.safetensors").is_file() and (out / "vidllm_modules.safetensors").is_file()
    trained = get_adapter("qwen2_5_vl")(ModelConfig(family="qwen2_5_vl", path=str(tiny_checkpoint), device="cpu"))
    trained.load(out)
    embedding = trained.model.get_base_model().model.vidllm.time_embedding.table.weight
    assert embedding.abs().sum() > 0  # gathered from the shards, trained from its zero start


@pytest.mark.slow
def test_zero3_full_fine_tuning_adds_time_tokens_to_sharded_embeddings(toy_set, tmp_path):
    """With spare embedding rows (as real Qwen checkpoints have) the embeddings stay sharded while the time-token rows
    are set from the digits; a near-zero learning rate keeps them there, so the saved rows equal a local load's."""
    base = write_tiny_checkpoint("qwen2_5_vl", tmp_path / "spare", spare_rows=16)
    out = tmp_path / "zero3_full"
    overrides = base_overrides(base, toy_set, out, steps=1)
    torchrun(["-m", "vidllm.train"], [*overrides, "deepspeed=zero3", "tuning.mode=full", "optim.lr=1e-12"])
    time = TimeConfig(scheme="vtgllm", time_tokens=True, time_embedding=True)
    local = load_model(ModelConfig(family="qwen2_5_vl", path=str(base), device="cpu", time=time))
    trained = load_model(ModelConfig(family="qwen2_5_vl", path=str(out), device="cpu"))
    ids = local.time_token_ids
    rows = [m.model.get_input_embeddings().weight for m in (local, trained)]
    assert rows[0].shape == rows[1].shape  # no resize: the spare rows are used
    assert torch.allclose(rows[0][ids], rows[1][ids], atol=1e-6)


@pytest.mark.slow
def test_deepspeed_run_killed_and_resumed_matches(tiny_checkpoint, toy_set, tmp_path):
    """ZeRO-2: a run stopped after its checkpoint at step 2 and resumed (new processes) logs the losses of one run."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    common = ["deepspeed=zero2", "checkpoint.save_steps=2", "tuning.lora.dropout=0.1"]
    torchrun(["-m", "vidllm.train"], [*base_overrides(tiny_checkpoint, toy_set, whole, steps=4), *common])
    first = [*base_overrides(tiny_checkpoint, toy_set, killed, steps=4), *common]
    torchrun([str(DRIVER), "--stop-after", "2"], first)
    assert (killed / "checkpoint-2").is_dir() and not (killed / "trainer_state.json").exists()
    torchrun(["-m", "vidllm.train"], [*first, "resume=true"])
    assert losses(killed) == pytest.approx(losses(whole), rel=1e-6)
