"""``method: grpo``: the ``rl`` section, TRL's ``GRPOTrainer`` on the tiny Qwen2.5-VL (LoRA with time tokens and a
time embedding, full tuning with text times), the video-aware forward against TRL's, time tokens read by the
rewards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vidllm.config import ConfigError
from vidllm.data.records import Record, Targets, render_answer
from vidllm.rewards import RewardSettings, Target
from vidllm.train import recipe
from vidllm.train.config import load_train_config

pytest.importorskip("trl")

from trl import GRPOTrainer  # noqa: E402

from vidllm.train.rl.recipe import grpo_arguments  # noqa: E402  (needs trl)
from vidllm.train.rl.trainer import RewardFunctions, logits_logps  # noqa: E402

TINY_YAML = Path(__file__).resolve().parents[2] / "train_configs" / "tiny_cpu.yaml"

GRPO = ("method=grpo", "optim.max_steps=2", "rl.num_generations=2", "rl.max_completion_length=12")
TEXT_TIMES = ("model.time.scheme=text", "model.time.time_tokens=false", "model.time.time_embedding=false")


def log_history(run_dir) -> list[dict]:
    return json.loads((run_dir / "trainer_state.json").read_text())["log_history"]


# --------------------------------------------------------------------------------------------------- config


def test_rl_section_parses_and_builds_trl_arguments(make_config):
    cfg = make_config(*GRPO, "rl.loss_type=dr_grpo", "rl.beta=0", "rl.rewards={tiou: 2.0, format: 0.5}")
    assert cfg.method == "grpo" and cfg.rl.active_rewards() == {"tiou": 2.0, "format": 0.5}
    args = grpo_arguments(cfg, "cpu")
    sft = recipe.training_arguments(make_config("optim.max_steps=2"), "cpu")
    assert type(args).__name__ == "GRPOConfig"
    assert (args.loss_type, args.beta, args.num_generations, args.reward_weights) == ("dr_grpo", 0.0, 2, [2.0, 0.5])
    for name in ("learning_rate", "per_device_train_batch_size", "max_steps", "seed", "lr_scheduler_type"):
        assert getattr(args, name) == getattr(sft, name), name  # the SFT recipe's arguments, plus the rl fields


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("rl.num_generations=1", "rl.num_generations must be >= 2"),
        ("rl.loss_type=ppo", "rl.loss_type"),
        ("rl.rewards={tiou: 1, iou: 1}", "unknown components \\['iou'\\]"),
        ("rl.rewards={tiou: 0}", "at least one > 0"),
        ("rl.beta=-0.1", "rl.beta must be >= 0"),
        ("rl.use_vllm=true", "rl.use_vllm=true is refused: model.time.time_embedding"),
        ("method=ppo", "method"),
        ("rl.eval_steps=5", "rl.eval_steps evaluates on held-out synthetic samples"),
        ("evaluation.gt_path=held_out.json", "the evaluation: section .* runs with method: sft"),
    ],
)
def test_rl_section_refuses_bad_values(override, message):
    with pytest.raises(ConfigError, match=message):
        load_train_config(TINY_YAML, ["method=grpo", override])


def test_vllm_on_a_stock_model_is_refused_with_what_is_missing():
    with pytest.raises(ConfigError, match="sends images only to vLLM"):
        load_train_config(TINY_YAML, ["method=grpo", "rl.use_vllm=true", *TEXT_TIMES])


def test_group_size_must_divide_the_completions_per_step(make_config):
    with pytest.raises(ValueError, match="not a multiple of rl.num_generations=4"):
        recipe.setup(make_config(*GRPO, "rl.num_generations=4", "optim.batch_size=2"))


# ----------------------------------------------------------------------------------------------------- runs


@pytest.mark.integration
def test_grpo_lora_with_time_tokens_runs_logs_and_saves(make_config, tiny_checkpoint):
    """2 steps of LoRA GRPO on the tiny config (VTG-LLM time tokens + time embedding); the run folder loads."""
    cfg = make_config(*GRPO, "rl.beta=0.04", "rl.skip_zero_variance=true")
    out = recipe.run(cfg)
    logs = [h for h in log_history(out) if "loss" in h]
    assert len(logs) == 2
    for key in ("rewards/tiou/mean", "rewards/format/mean", "rl/format_pass", "rl/unparsed", "rl/skipped_groups",
                "completions/mean_length", "kl", "clip_ratio/region_mean", "entropy"):  # fmt: skip
        assert key in logs[0], key
    from vidllm.models import ModelConfig, get_adapter

    trained = get_adapter("qwen2_5_vl")(ModelConfig(family="qwen2_5_vl", path=str(tiny_checkpoint), device="cpu"))
    trained.load(out)
    assert trained.time_token_ids and hasattr(trained.model, "peft_config")


@pytest.mark.integration
def test_grpo_full_tuning_forward_matches_trl(make_config):
    """Full tuning with text times: the video-aware forward gives TRL's fused-head log-probabilities, the plain
    logits path gives the same, and TRL's loss is the same through both."""
    job = recipe.setup(make_config(*GRPO, *TEXT_TIMES, "tuning.mode=full", "rl.skip_zero_variance=false"))
    trainer = job.trainer
    assert trainer.fused_head
    recipe.train(job)  # 2 steps: the loop runs, full weights train
    inputs = [{"prompt": "q", "vidllm_index": i} for i in (0, 0, 1, 1)]
    trainer.model.train()
    batch = trainer._generate_and_score_completions(inputs)
    batch["advantages"] = torch.tensor([1.0, -1.0, 0.5, -0.5])  # a signal even where the rewards tie
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    k = batch["completion_ids"].shape[1]
    results = []
    for fused_head in (True, False):
        trainer._fused_head = fused_head
        logps, ent, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, k, compute_entropy=True)
        trainer.model.zero_grad()
        loss = trainer._compute_loss(trainer.model, batch)
        loss.backward()
        grads = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
        results.append((logps.detach(), ent.detach(), loss.item(), grads))
    (fused, ent_fused, loss_fused, grads_fused), (plain, ent_plain, loss_plain, grads_plain) = results
    valid = batch["completion_mask"].bool()
    assert torch.allclose(fused[valid], plain[valid], atol=1e-5)
    assert torch.allclose(ent_fused[valid], ent_plain[valid], atol=1e-5)
    assert loss_fused == pytest.approx(loss_plain, abs=1e-6)
    assert grads_fused and len(grads_fused) == len(grads_plain)
    for a, b in zip(grads_fused, grads_plain, strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    # without videos the override is TRL's own method
    trainer._fused_head, videos = None, trainer.batch_videos
    trainer.batch_videos = None
    ids, mask = ids[:, -k - 4 :], mask[:, -k - 4 :]
    ours = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, k)[0]
    trl = GRPOTrainer._get_per_token_logps_and_entropies(trainer, trainer.model, ids, mask, k)[0]
    trainer.batch_videos = videos
    assert torch.equal(ours, trl)


def test_logits_logps_is_log_softmax_of_the_next_token():
    logits = torch.randn(2, 5, 7)
    labels = torch.randint(0, 7, (2, 5))
    labels[:, :2] = -100
    logps, ent = logits_logps(logits, labels, temperature=0.5)
    ref = torch.log_softmax(logits[:, :-1] / 0.5, -1).gather(-1, labels[:, 1:].clamp(min=0)[..., None])[..., 0]
    assert logps.shape == (2, 4)
    assert torch.allclose(logps[:, 1:], ref[:, 1:]) and (logps[:, 0] == 0).all()
    assert (ent >= 0).all()


# -------------------------------------------------------------------------------------------- time tokens


def test_sampled_time_tokens_decode_through_vidllm_time(tiny_checkpoint):
    """A completion written in VTG-LLM time tokens, as the tokenizer decodes sampled ids, scores 1 (and format 1)."""
    from vidllm.models import ModelConfig, TimeConfig, load_model

    time = TimeConfig(scheme="vtgllm", time_tokens=True)
    adapter = load_model(ModelConfig(family="qwen2_5_vl", path=str(tiny_checkpoint), device="cpu", time=time))
    record = Record(video="v.mp4", task="mr", prompt="q", targets=Targets(intervals=((2.5, 7.0),)), duration=10.0)
    scheme = adapter.config.time.make_scheme()
    tokenizer = adapter.processor.tokenizer
    ids = tokenizer(render_answer(record, scheme), add_special_tokens=False)["input_ids"]
    assert set(adapter.time_token_ids) & set(ids)
    completion = tokenizer.decode(ids + [tokenizer.eos_token_id], skip_special_tokens=True)
    rewards = RewardFunctions(lambda fps: scheme, {"tiou": 1.0, "format": 1.0}, RewardSettings())
    target = Target.from_record(record).to_dict()
    logged = {}
    tiou, fmt = (
        f([""], [completion], vidllm_target=[target], log_metric=logged.__setitem__) for f in rewards.functions()
    )
    assert tiou == [1.0] and fmt == [1.0]
    assert logged["rl/tiou"] == 1.0 and logged["rl/unparsed"] == 0.0


# ----------------------------------------------------------------------------------------------- distributed


@pytest.mark.integration
@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_grpo_deepspeed_two_processes(stage, tiny_checkpoint, toy_set, tmp_path):
    """2 CPU processes under torchrun, DeepSpeed ZeRO-2 / ZeRO-3 (LoRA; ZeRO-3 samples with the shards gathered by
    TRL's ``unwrap_model_for_generation``): one group of 2 completions spans both ranks."""
    pytest.importorskip("deepspeed")
    from test_distributed import base_overrides, torchrun

    out = tmp_path / f"grpo_{stage}"
    overrides = [*base_overrides(tiny_checkpoint, toy_set, out, steps=2), f"deepspeed={stage}", "method=grpo",
                 "rl.num_generations=2", "rl.max_completion_length=8"]  # fmt: skip
    if stage == "zero3":  # peft initialises LoRA's time-token rows under ZeRO-3 on CUDA only: times as text here
        overrides += ["model.time.scheme=text", "model.time.time_tokens=false"]
    torchrun(["-m", "vidllm.train"], overrides)
    logs = [h for h in log_history(out) if "loss" in h]
    assert len(logs) == 2 and "rewards/tiou/mean" in logs[0]
    assert (out / "checkpoint-2" / "global_step2").is_dir()  # DeepSpeed's resumable state


@pytest.mark.slow
def test_grpo_deepspeed_killed_and_resumed_logs_what_one_run_logs(tiny_checkpoint, toy_set, tmp_path):
    """ZeRO-2 on 2 processes: a GRPO run stopped after its checkpoint at step 2 and resumed in new processes logs the
    completions, rewards and losses of one uninterrupted run at steps 3-4 (DeepSpeed's engine state, each rank's
    sampling RNG and the optimizer are restored from ``checkpoint-2``)."""
    pytest.importorskip("deepspeed")
    from test_distributed import DRIVER, base_overrides, torchrun

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    common = ["deepspeed=zero2", "method=grpo", "rl.num_generations=2", "rl.max_completion_length=8",
              "rl.skip_zero_variance=false", "checkpoint.save_steps=2", *TEXT_TIMES]  # fmt: skip
    torchrun(["-m", "vidllm.train"], [*base_overrides(tiny_checkpoint, toy_set, whole, steps=4), *common])
    first = [*base_overrides(tiny_checkpoint, toy_set, killed, steps=4), *common]
    torchrun([str(DRIVER), "--stop-after", "2"], first)
    assert (killed / "checkpoint-2" / "global_step2").is_dir() and not (killed / "trainer_state.json").exists()
    torchrun(["-m", "vidllm.train"], [*first, "resume=true"])
    keys = ("loss", "reward", "completions/mean_length", "entropy", "rewards/tiou/mean")
    expected = [[h.get(k) for k in keys] for h in log_history(whole) if "loss" in h]
    got = [[h.get(k) for k in keys] for h in log_history(killed) if "loss" in h]
    assert len(expected) == 4 and len(got) >= 2
    for a, b in zip(got[-2:], expected[-2:], strict=True):
        assert a == pytest.approx(b, rel=1e-5)


# --------------------------------------------------------------------------------------------------- families


def _family_checkpoint(family: str, folder):
    if family in ("qwen2_vl", "qwen3_vl"):
        from vidllm.models.tiny import write_tiny_checkpoint

        return write_tiny_checkpoint(family, folder)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # tests/models' tiny builders
    if family == "longva":
        from tiny_longva import write_tiny_longva

        return write_tiny_longva(folder)
    from tiny_videollama import write_tiny_checkpoint as write_tiny_videollama

    return write_tiny_videollama(folder)


@pytest.mark.integration
@pytest.mark.parametrize("family", ["qwen3_vl", "longva", "videollama"])  # qwen2_vl: the qwen2_5_vl class
def test_grpo_step_on_other_families(family, make_config, tmp_path):
    """One LoRA GRPO step with text times on each other family's tiny model."""
    folder = _family_checkpoint(family, tmp_path / family)
    cfg = make_config(*GRPO, *TEXT_TIMES, f"model.family={family}", f"model.path={folder}", "optim.max_steps=1")
    out = recipe.run(cfg)
    logs = [h for h in log_history(out) if "loss" in h]
    assert len(logs) == 1 and "rewards/tiou/mean" in logs[0]


# ------------------------------------------------------------------------------------------------------ resume


@pytest.mark.integration
def test_grpo_killed_and_resumed_logs_what_one_run_logs(make_config):
    """Stopped after its checkpoint at step 2 and resumed: the same completions (lengths, entropy), rewards and
    losses at steps 3-4 as an uninterrupted run (the sampling RNG is restored with the checkpoint)."""
    from test_recipe import StopAfter

    steps = [*GRPO, *TEXT_TIMES, "optim.max_steps=4", "checkpoint.save_steps=2", "rl.skip_zero_variance=false"]
    whole = recipe.run(make_config(*steps, out="whole"))
    killed = recipe.setup(make_config(*steps, out="killed"), callbacks=[StopAfter(2)])
    recipe.train(killed)
    resumed = recipe.setup(make_config(*steps, "resume=true", out="killed"))
    assert resumed.resume_from.endswith("checkpoint-2")
    recipe.train(resumed)
    out = recipe.save(resumed)
    keys = ("loss", "reward", "completions/mean_length", "entropy", "rewards/tiou/mean")
    expected = [[h.get(k) for k in keys] for h in log_history(whole) if "loss" in h]
    got = [[h.get(k) for k in keys] for h in log_history(out) if "loss" in h]
    assert len(expected) == len(got) == 4
    for a, b in zip(got[-2:], expected[-2:], strict=True):
        assert a == pytest.approx(b, rel=1e-5)


@pytest.mark.integration
def test_grpo_on_the_synthetic_stream_logs_heldout_scores(tmp_path):
    """train_configs/synthetic_grpo.yaml on a tiny Qwen2-VL with the think template: fresh synthetic prompts, held-out
    scores in the logs."""
    from vidllm.models.tiny import write_tiny_checkpoint

    folder = write_tiny_checkpoint("qwen2_vl", tmp_path / "tiny")
    cfg = load_train_config(
        Path(TINY_YAML).parent / "synthetic_grpo.yaml",
        [f"model.path={folder}", f"checkpoint.output_dir={tmp_path / 'run'}", "optim.max_steps=2",
         "optim.batch_size=4", "rl.max_completion_length=32", "rl.think=true", "rl.eval_steps=2", "rl.eval_samples=2",
         "data.synthetic.duration=[4.0,4.0]", "data.synthetic.event_length=[1.0,2.0]", "data.synthetic.size=16",
         "data.min_pixels=256", "data.max_pixels=256", "logging.steps=1"],
    )  # fmt: skip
    out = recipe.run(cfg)
    logs = [h for h in log_history(out) if "loss" in h]
    assert len(logs) == 2 and "heldout/miou" not in logs[0]
    assert 0.0 <= logs[1]["heldout/miou"] <= 1.0 and "heldout/r1_7" in logs[1]


@pytest.mark.integration
@pytest.mark.parametrize(
    "component",
    [
        ("model.time.frame_text=true",),
        ("model.time.scheme=frames", "model.time.numpro=true"),
        ("model.time.embedding_init=sinusoidal", "model.compression.enabled=true", "model.compression.num_slots=4"),
    ],
    ids=["frame_text", "numpro", "slots"],
)
def test_grpo_step_with_each_time_component(component, make_config):
    """One LoRA GRPO step on the tiny Qwen2.5-VL with frame-time text, NumPro frame numbers (answers in frame numbers,
    rewarded in seconds) and slot compression: the completions are parsed in the run's scheme and rewarded."""
    cfg = make_config(*GRPO, *TEXT_TIMES, *component, "optim.max_steps=1", "rl.skip_zero_variance=false")
    out = recipe.run(cfg)
    logs = [h for h in log_history(out) if "loss" in h]
    assert len(logs) == 1 and "rewards/tiou/mean" in logs[0] and "rl/format_pass" in logs[0]
    assert 0.0 <= logs[0]["rewards/tiou/mean"] <= 1.0
