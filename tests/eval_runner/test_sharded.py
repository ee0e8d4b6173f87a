"""``torchrun --nproc_per_node=2 eval/mr.py --lora_path ...`` on the CPU (gloo): the merged result equals one process.

Also the command-line path in-process: ``eval/mr.py``'s ``main`` with the flags a user types.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eval_runner_helpers import charades_fixture, make_config, read_samples

from vidllm.eval.run_cli import main
from vidllm.eval.runner import evaluate

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")


def _flags(fixture, base, lora, out) -> list[str]:
    return [
        "--dataset", "charades_sta", "--gt_path", str(fixture.gt_path), "--video_root", str(fixture.video_root),
        "--model_path", str(base), "--lora_path", str(lora), "--output_dir", str(out), "--batch_size", "2",
        "--device", "cpu", "--max_new_tokens", "40", "--num_workers", "1",
    ]  # fmt: skip


def test_two_process_run_equals_one_process(shared_data, tiny_base, tiny_lora, tmp_path):
    fixture = charades_fixture(shared_data, tmp_path / "data", n=7)  # 4 batches of 2: ranks get 2 each
    single = evaluate(make_config(fixture, tmp_path / "single", tiny_base, tasks=["mr"], batch_size=2,
                                  lora_path=f"'{tiny_lora}'", prompt_set="timechat",
                                  **{"sampling.fps": "null", "sampling.max_frames": "null"}))  # fmt: skip
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", str(REPO / "eval" / "mr.py"),
           *_flags(fixture, tiny_base, tiny_lora, tmp_path / "sharded")]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "R1@0.5" in proc.stdout  # rank 0 printed the table
    parts = sorted(p.name for p in (tmp_path / "sharded" / "parts").iterdir())
    assert parts == ["rank0.jsonl", "rank1.jsonl"]
    rank1 = [json.loads(x)["id"] for x in (tmp_path / "sharded" / "parts" / "rank1.jsonl").read_text().splitlines()]
    assert rank1 == ["2", "3", "6"]  # batches 1 and 3
    assert read_samples(tmp_path / "sharded") == read_samples(tmp_path / "single")
    results = json.loads((tmp_path / "sharded" / "results.json").read_text())
    assert results["metrics"] == single.metrics and results["counts"] == single.counts
    assert (
        results["adapter"]["sha256"]
        == json.loads((tmp_path / "single" / "results.json").read_text())["adapter"]["sha256"]
    )


def test_command_line_with_lora_path(shared_data, tiny_base, tiny_lora, tmp_path, capsys):
    fixture = charades_fixture(shared_data, tmp_path / "data", n=3)
    code = main("mr", [*_flags(fixture, tiny_base, tiny_lora, tmp_path / "out"), "--plots", "generation.seed=3"])
    assert code == 0
    shown = capsys.readouterr().out
    assert "vidllm score tvg" in shown and "R1@0.7" in shown and "unparseable" in shown
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["config"]["lora_path"] == str(tiny_lora) and results["config"]["generation"]["seed"] == 3
    assert results["config"]["batch_size"] == 2 and results["sampling"]["sources"]["fps"] == "checkpoint"
    assert (tmp_path / "out" / "plots" / "timeline.png").is_file()


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert main("mr", ["--dataset", "charades_sta", "--gt_path", str(tmp_path / "nope.json"), "--video_root",
                       str(tmp_path), "--model_path", str(tmp_path)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("eval/mr.py: error:") and "nope.json" in err and len(err.strip().splitlines()) == 1
    assert main("mr", ["--dataset", "charades_sta", "batch_size=0"]) == 2
    assert "batch_size must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_and_rerun_equals_uninterrupted(shared_data, tiny_base, tmp_path):
    """A real kill (SIGKILL while batches are being written), then the same command again."""
    fixture = charades_fixture(shared_data, tmp_path / "data", n=12)
    flags = _flags(fixture, tiny_base, tiny_base, tmp_path / "killed")
    flags = flags[: flags.index("--lora_path")] + flags[flags.index("--lora_path") + 2 :]
    cmd = [sys.executable, str(REPO / "eval" / "mr.py"), *flags, "sampling.fps=1", "sampling.max_frames=8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = tmp_path / "killed" / "parts" / "rank0.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (part.is_file() and len(part.read_text().splitlines()) >= 2):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(part.read_text().splitlines())
    assert 2 <= written < 12, "the kill came too late to test anything"
    assert subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=600).returncode == 0
    single = evaluate(make_config(fixture, tmp_path / "single", tiny_base, tasks=["mr"], batch_size=2,
                                  prompt_set="timechat"))  # fmt: skip
    assert read_samples(tmp_path / "killed") == read_samples(tmp_path / "single")
    assert json.loads((tmp_path / "killed" / "results.json").read_text())["metrics"] == single.metrics
