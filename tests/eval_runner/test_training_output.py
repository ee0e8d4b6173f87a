"""``--lora_path`` on what the training recipe writes: ``vidllm.train.recipe.run`` on the tiny CPU config
(train_configs/tiny_cpu.yaml: LoRA on a tiny Qwen2.5-VL with VTG-LLM time tokens and time embedding), then
``eval/mr.py --model_path BASE --lora_path RUN``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_runner_helpers import charades_fixture, read_samples

from vidllm.eval.run_cli import main
from vidllm.models.tiny import write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")


def test_eval_loads_a_training_run(shared_data, tmp_path, capsys):
    recipe = pytest.importorskip("vidllm.train.recipe")
    from vidllm.train.config import load_train_config
    from vidllm.train.toy import write_toy_set

    base = write_tiny_checkpoint("qwen2_5_vl", tmp_path / "base")
    records, videos = write_toy_set(tmp_path / "toy", num_videos=2, seed=0)
    run = recipe.run(load_train_config(REPO / "train_configs" / "tiny_cpu.yaml", [
        f"model.path={base}", f"data.files=[{records}]", f"data.video_root={videos}",
        f"checkpoint.output_dir={tmp_path / 'run'}", "optim.max_steps=2", "checkpoint.save_steps=100",
    ]))  # fmt: skip
    fixture = charades_fixture(shared_data, tmp_path / "data", n=3)
    code = main("mr", [
        "--dataset", "charades_sta", "--gt_path", str(fixture.gt_path), "--video_root", str(fixture.video_root),
        "--model_path", str(base), "--lora_path", str(run), "--output_dir", str(tmp_path / "out"),
        "--device", "cpu", "--max_new_tokens", "12", "--batch_size", "3",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["family"] == "qwen2_5_vl" and results["adapter"]["path"] == str(Path(run).resolve())
    # sampling and time components as trained: train_config.yaml (data.fps, max_frames, max_pixels), vidllm.json
    sampling = results["sampling"]
    assert sampling["sources"] == dict.fromkeys(("fps", "max_frames", "max_pixels"), "checkpoint")
    assert (sampling["fps"], sampling["max_frames"], sampling["max_pixels"]) == (1.0, 8, 256)
    assert results["model_config"]["time"]["scheme"] == "vtgllm" and results["model_config"]["time"]["time_tokens"]
    lines = read_samples(tmp_path / "out")
    assert len(lines) == 3 and all(line["num_frames"] == 8 for line in lines)
    assert all(line["status"] in ("ok", "unparseable") for line in lines)
