"""The training recipe in one process on the tiny model: the loss falls (LoRA and full), a killed run resumes to the
same loss curve, the saved run loads through the adapter, and an exported merge gives the same logits."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageTextToText, TrainerCallback

from vidllm.models import ModelConfig, get_adapter, load_model
from vidllm.models.tiny import synthetic_video, video_messages
from vidllm.train import recipe
from vidllm.train.cli import add_subcommands
from vidllm.train.config import load_train_config
from vidllm.train.recipe import ConcatRecords
from vidllm.train.trainer import TRAIN_CONFIG_FILE


def logged_losses(run_dir: Path) -> list[tuple[int, float]]:
    state = json.loads((run_dir / "trainer_state.json").read_text())
    return [(h["step"], h["loss"]) for h in state["log_history"] if "loss" in h]


class StopAfter(TrainerCallback):
    """Stops training after ``steps`` optimizer steps, as a kill right after a checkpoint would."""

    def __init__(self, steps: int):
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            control.should_training_stop = True


def batch_for(adapter):
    answer = adapter.config.time.make_scheme(fps=2.0).format_span(1.0, 2.5)
    return adapter.collate([adapter.build_inputs(video_messages(answer=answer), [synthetic_video(8, 2.0)])])


def test_lora_run_learns_and_saves_what_evaluation_loads(make_config, tiny_checkpoint):
    cfg = make_config("optim.lr=0.01", "optim.max_steps=10", "checkpoint.save_steps=100", "data.use_arrow=true",
                      f"data.cache_dir={Path(make_config().checkpoint.output_dir).parent / 'arrow'}")  # fmt: skip
    out = recipe.run(cfg)
    losses = [loss for _, loss in logged_losses(out)]
    assert len(losses) == 10 and losses[-1] < losses[0] - 0.8, losses
    for name in ("adapter_model.safetensors", "adapter_config.json", "vidllm.json", "vidllm_modules.safetensors",
                 "tokenizer.json", "processor_config.json", TRAIN_CONFIG_FILE):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "model.safetensors").exists()
    assert load_train_config(out / TRAIN_CONFIG_FILE) == cfg
    # the evaluation runner's way: --model_path BASE --lora_path OUT
    base = ModelConfig(family="qwen2_5_vl", path=str(tiny_checkpoint), device="cpu")
    trained = get_adapter("qwen2_5_vl")(base).load(out)
    assert trained.config.time.time_tokens and trained.config.time.time_embedding
    assert trained.time_token_ids and "<TIME_ZERO>" in trained.processor.tokenizer.get_vocab()
    fresh = get_adapter("qwen2_5_vl")(ModelConfig(**{**base.to_dict(), "time": trained.config.time})).load()
    with torch.no_grad():
        assert not torch.allclose(trained.forward(batch_for(trained)).logits, fresh.forward(batch_for(fresh)).logits)


def test_full_run_learns(make_config):
    cfg = make_config("tuning.mode=full", "optim.lr=0.005", "optim.max_steps=8", "checkpoint.save_steps=100")
    out = recipe.run(cfg)
    losses = [loss for _, loss in logged_losses(out)]
    assert losses[-1] < losses[0] - 1.0, losses
    assert (out / "model.safetensors").is_file() and (out / "vidllm_modules.safetensors").is_file()


@pytest.mark.parametrize("mode", ["lora", "full"])
def test_killed_run_resumes_to_the_same_loss_curve(make_config, mode):
    steps = ["optim.max_steps=4", "checkpoint.save_steps=2", "optim.scheduler=linear", "optim.lr=0.005",
             f"tuning.mode={mode}", "tuning.lora.dropout=0.1"]  # fmt: skip
    whole = recipe.run(make_config(*steps, out="whole"))
    killed = recipe.setup(make_config(*steps, out="killed"), callbacks=[StopAfter(2)])
    recipe.train(killed)
    assert (Path(killed.config.checkpoint.output_dir) / "checkpoint-2").is_dir()
    resumed_cfg = make_config(*steps, "resume=true", out="killed")
    resumed = recipe.setup(resumed_cfg)
    assert resumed.resume_from.endswith("checkpoint-2")
    recipe.train(resumed)
    out = recipe.save(resumed)
    expected, got = logged_losses(whole), logged_losses(out)
    assert [s for s, _ in expected] == [s for s, _ in got] == [1, 2, 3, 4]
    assert [loss for _, loss in got] == pytest.approx([loss for _, loss in expected], rel=1e-6)


def test_export_merge_gives_the_same_model(make_config, tiny_checkpoint, tmp_path):
    cfg = make_config("optim.lr=0.01", "optim.max_steps=3", "checkpoint.save_steps=100", "tuning.train_projector=true",
                      "optim.projector_lr=0.02")  # fmt: skip
    job = recipe.setup(cfg)
    lrs = sorted({g["lr"] for g in job.trainer.create_optimizer().param_groups})
    assert lrs == [0.01, 0.02]  # LLM and time components, projector
    recipe.train(job)
    out = recipe.save(job)
    trained = load_model(ModelConfig(family="qwen2_5_vl", path=str(out), device="cpu"))
    merger = [n for n, p in trained.model.named_parameters() if "merger.modules_to_save" in n]
    assert merger  # the projector trained beside LoRA is in the adapter
    # vidllm export --lora OUT --out DIR --merge --base BASE
    parser = argparse.ArgumentParser()
    runners = add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", "--lora", str(out), "--out", str(tmp_path / "merged"), "--merge",
                              "--base", str(tiny_checkpoint)])  # fmt: skip
    assert runners[args.command](args) == 0
    merged_dir = tmp_path / "merged"
    assert (merged_dir / "model.safetensors").is_file() and not (merged_dir / "adapter_config.json").exists()
    merged = load_model(ModelConfig(family="qwen2_5_vl", path=str(merged_dir), device="cpu"))
    batch = batch_for(trained)
    with torch.no_grad():
        expected, got = trained.forward(batch).logits, merged.forward(batch_for(merged)).logits
    assert torch.allclose(expected, got, atol=1e-5)
    # plain transformers loads the merged folder, time tokens included; text-only prompts match vidllm exactly
    plain = AutoModelForImageTextToText.from_pretrained(merged_dir, dtype=torch.float32)
    text = [{"role": "user", "content": [{"type": "text", "text": "When?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "<TIME_ZERO><TIME_ONE>"}]}]  # fmt: skip
    sample = merged.collate([merged.build_inputs(text, [])])
    with torch.no_grad():
        ours = merged.forward(sample).logits
        theirs = plain(input_ids=sample["input_ids"], attention_mask=sample["attention_mask"]).logits
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_export_refuses_a_full_run(make_config, tmp_path):
    from vidllm.train.export import export

    with pytest.raises(FileNotFoundError, match="not a LoRA folder"):
        export(tmp_path, tmp_path / "out")


def test_train_subcommand_parses_config_and_overrides():
    parser = argparse.ArgumentParser()
    runners = add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--config", "x.yaml", "optim.lr=2e-4", "resume=true"])
    assert set(runners) == {"train", "export"}
    assert args.config == "x.yaml" and args.overrides == ["optim.lr=2e-4", "resume=true"]


def test_concat_records_index_across_files():
    records = ConcatRecords([[1, 2], [], [3], [4, 5, 6]])
    assert len(records) == 6 and [records[i] for i in range(6)] == [1, 2, 3, 4, 5, 6] and records[-1] == 6
    with pytest.raises(IndexError):
        records[6]
