"""Evaluation during training: ``trainer.eval_strategy`` runs the evaluation runner on a held-out file with the
model being trained, and its grounding metrics (R1@0.5, mIoU) are logged next to the loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidllm.config import ConfigError
from vidllm.errors import UserError
from vidllm.synthetic import SceneSpec
from vidllm.synthetic.benchmark import write_benchmark
from vidllm.synthetic.tasks import PROMPTS
from vidllm.train import recipe
from vidllm.train.grounding_eval import GroundingEvaluator


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> dict[str, Path]:
    """Two synthetic 8-s videos with one moment question each (ground truth for ``vidllm score tvg``)."""
    spec = SceneSpec(duration=(8.0, 8.0), num_events=(1, 1), event_length=(2.0, 4.0))
    return write_benchmark(tmp_path_factory.mktemp("held_out"), num_videos=2, spec=spec, seed=123, tasks=("mr",),
                           video_fps=2.0)  # fmt: skip


def evaluation(held_out: dict[str, Path]) -> list[str]:
    return ["evaluation.dataset=synthetic", f"evaluation.gt_path={held_out['tvg']}",
            f"evaluation.video_root={held_out['videos']}", f"evaluation.prompt={json.dumps(PROMPTS['mr'])}",
            "evaluation.max_new_tokens=12"]  # fmt: skip


def test_grounding_metrics_are_logged_next_to_the_loss(make_config, held_out):
    cfg = make_config("optim.max_steps=2", "checkpoint.save_steps=2", "trainer.eval_strategy=steps",
                      "trainer.eval_steps=1", "trainer.per_device_eval_batch_size=2",
                      "trainer.metric_for_best_model=eval_mIoU", *evaluation(held_out))  # fmt: skip
    out = recipe.run(cfg)
    state = json.loads((out / "trainer_state.json").read_text())
    evals = [h for h in state["log_history"] if "eval_R1@0.5" in h]
    assert [h["step"] for h in evals] == [1, 2]
    for h in evals:
        assert 0.0 <= h["eval_R1@0.5"] <= 100.0 and 0.0 <= h["eval_mIoU"] <= 100.0
    assert {h["step"] for h in state["log_history"] if "loss" in h} == {1, 2}
    assert state["best_metric"] == max(h["eval_mIoU"] for h in evals)  # metric_for_best_model works on it
    results = json.loads((out / "eval" / "step-2" / "results.json").read_text())
    assert results["dataset"] == "synthetic" and results["counts"]["samples"] == 2
    assert results["metrics"]["R1@0.5"] == evals[-1]["eval_R1@0.5"]
    assert results["sampling"]["fps"] == cfg.data.fps


def test_eval_strategy_without_a_held_out_file_is_refused(make_config, held_out, tmp_path):
    with pytest.raises(ConfigError, match="trainer.eval_strategy=steps needs something to evaluate"):
        make_config("trainer.eval_strategy=steps")
    cfg = make_config(*evaluation(held_out), f"evaluation.video_root={tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match="video_root"):  # before the model loads
        recipe.setup(cfg)
    with pytest.raises(UserError, match="ZeRO-3"):
        GroundingEvaluator(make_config(*evaluation(held_out), "deepspeed=zero3"))
